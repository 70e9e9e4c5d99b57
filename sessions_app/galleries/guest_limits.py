"""Bounds on what guests (no account, no password of their own) can pile up in a gallery.

* Entering with a name and email: 20 per client address per gallery per hour (a new guest or one coming
  back), and at most 200 guests per gallery in all.
* Notes: 30 per selection per minute, and 500 note changes per selection in all (each change is a row:
  selections are append-only).

The rates are counted in Django's cache (Redis in production, shared by every web worker) like the login
throttle's (sessions_app.login_throttle): `cache.add` opens a fixed window at the first use, `cache.incr`
counts. Here the increment comes first and its result decides, so parallel requests each see their own
count and at most `attempts` of them pass per window. The totals are counted in the database, under the
row lock the write already takes, so they hold across windows and restarts.
"""
from __future__ import annotations

import hashlib
import math
import time

from django.core.cache import cache

from ..login_throttle import Limit

ENTRIES_PER_ADDRESS = Limit("gallery-entry-ip", 20, 60 * 60)  # ident: "<gallery id>:<client address>"
COMMENTS_PER_SELECTION = Limit("gallery-comment", 30, 60)  # ident: the selection's id
GUESTS_MAX = 200  # selections per gallery
COMMENTS_MAX = 500  # comment rows per selection


def _keys(limit: Limit, ident: str) -> tuple[str, str]:
    digest = hashlib.sha256(ident.encode()).hexdigest()[:32]  # short, backend-safe, no address in the cache
    base = f"guest-limit:{limit.scope}:{digest}"
    return f"{base}:n", f"{base}:since"


def consume(limit: Limit, ident: str) -> int:
    """Count one use of `limit` by `ident`: 0 when it is within the limit, else the seconds until the
    window closes (the refused use is counted too, which changes nothing: the window doesn't move)."""
    count_key, since_key = _keys(limit, ident)
    cache.add(since_key, time.time(), timeout=limit.window_s)
    cache.add(count_key, 0, timeout=limit.window_s)
    try:
        count = cache.incr(count_key)  # atomic on Redis and in the local-memory cache; keeps the expiry
    except ValueError:  # the window closed between add() and incr(): this use opens the next one
        cache.set(since_key, time.time(), timeout=limit.window_s)
        cache.set(count_key, 1, timeout=limit.window_s)
        count = 1
    if count <= limit.attempts:
        return 0
    since = cache.get(since_key, time.time())
    return max(1, math.ceil(since + limit.window_s - time.time()))
