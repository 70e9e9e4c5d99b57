"""Login and password-reset throttling, counted in Django's cache (Redis in production, so every web worker
shares the counts; the local-memory default counts per process).

Each counter is a fixed window that opens at the first attempt it counts:

* 10 failed logins for one email (any letter case) or 30 from one client address within 15 minutes lock
  that email / address out until the window closes; the password is not even checked meanwhile.
  A successful login clears the email's counter.
* 5 password-reset requests per email per hour; later ones are dropped silently, so the answer never
  says whether an account exists.
"""
from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    scope: str
    attempts: int
    window_s: int


LOGIN_PER_EMAIL = Limit("login-email", 10, 15 * 60)
LOGIN_PER_IP = Limit("login-ip", 30, 15 * 60)
RESET_PER_EMAIL = Limit("reset-email", 5, 60 * 60)


# --- Counters -------------------------------------------------------------------------------------------


def _keys(limit: Limit, ident: str) -> tuple[str, str]:
    # Hashed: cache keys stay short and safe for any backend, and the cache holds no email addresses.
    digest = hashlib.sha256(ident.strip().lower().encode()).hexdigest()[:32]
    base = f"throttle:{limit.scope}:{digest}"
    return f"{base}:n", f"{base}:since"


def _retry_after(limit: Limit, ident: str | None) -> int:
    """Seconds until `ident` may try again under `limit`; 0 when it may try now."""
    if not ident:
        return 0
    count_key, since_key = _keys(limit, ident)
    values = cache.get_many([count_key, since_key])
    if values.get(count_key, 0) < limit.attempts:
        return 0
    since = values.get(since_key, time.time())
    return max(1, math.ceil(since + limit.window_s - time.time()))


def _hit(limit: Limit, ident: str | None) -> int:
    """Count one attempt for `ident`; returns the count in the current window."""
    if not ident:
        return 0
    count_key, since_key = _keys(limit, ident)
    cache.add(since_key, time.time(), timeout=limit.window_s)
    cache.add(count_key, 0, timeout=limit.window_s)
    try:
        count = cache.incr(count_key)  # atomic on Redis; keeps the key's expiry
    except ValueError:  # the window closed between add() and incr()
        cache.set(since_key, time.time(), timeout=limit.window_s)
        cache.set(count_key, 1, timeout=limit.window_s)
        count = 1
    if count == limit.attempts:
        logger.warning("throttle %s: %d attempts, locked for %d s", limit.scope, count, limit.window_s)
    return count


def _clear(limit: Limit, ident: str | None) -> None:
    if ident:
        cache.delete_many(list(_keys(limit, ident)))


# --- What the login and password-reset forms call -----------------------------------------------------


def client_ip(request: HttpRequest | None) -> str | None:
    """The client's address: REMOTE_ADDR, or the entry our own proxies added to X-Forwarded-For.

    EYESPY_TRUSTED_PROXIES says how many proxies (that append to X-Forwarded-For) stand in front of the
    app. Entries further left were written by the client and can't be trusted.
    """
    if request is None:
        return None
    hops = settings.EYESPY_TRUSTED_PROXIES
    if hops > 0:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.META.get("REMOTE_ADDR") or None


def login_retry_after(*, email: str | None, ip: str | None) -> int:
    """Seconds before this email / address may try to log in again; 0 when it may now."""
    return max(_retry_after(LOGIN_PER_EMAIL, email), _retry_after(LOGIN_PER_IP, ip))


def login_failure_record(*, email: str | None, ip: str | None) -> None:
    _hit(LOGIN_PER_EMAIL, email)
    _hit(LOGIN_PER_IP, ip)


def login_success_record(*, email: str | None) -> None:
    """The right password clears the email's failures (the address's count stays: it may be guessing others)."""
    _clear(LOGIN_PER_EMAIL, email)


def password_reset_allowed(*, email: str | None) -> bool:
    """Count one reset request for `email`; False once it is over the hourly limit."""
    if _retry_after(RESET_PER_EMAIL, email):
        return False
    _hit(RESET_PER_EMAIL, email)
    return True


def retry_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return f"Too many failed attempts; try again in {minutes} minute{'' if minutes == 1 else 's'}."
