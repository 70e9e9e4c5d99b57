"""Bounds on what guests (no account, no password of their own) can pile up in a gallery.

* Entering with a name and email: 20 per client address per gallery per hour (a new guest or one coming
  back), and at most 200 guests per gallery in all.
* Notes: 30 per selection per minute, and 500 note changes per selection in all (each change is a row:
  selections are append-only).

The rates are counted in Django's cache (Redis in production, shared by every web worker) with the login
throttle's counters (sessions_app.login_throttle.admit): the increment comes first and its result
decides, so parallel requests each see their own count and at most `attempts` of them pass per window.
The totals are counted in the database, under the row lock the write already takes, so they hold across
windows and restarts.
"""
from __future__ import annotations

from sessions_app import login_throttle
from sessions_app.login_throttle import Limit

ENTRIES_PER_ADDRESS = Limit("gallery-entry-ip", 20, 60 * 60)  # ident: "<gallery id>:<client address>"
COMMENTS_PER_SELECTION = Limit("gallery-comment", 30, 60)  # ident: the selection's id
GUESTS_MAX = 200  # selections per gallery
COMMENTS_MAX = 500  # comment rows per selection


def consume(limit: Limit, ident: str) -> int:
    """Count one use of `limit` by `ident`: 0 when it is within the limit, else the seconds until the
    window closes (then nothing stays counted)."""
    return login_throttle.admit([(limit, ident)])
