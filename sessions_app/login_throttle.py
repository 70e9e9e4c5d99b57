"""Login, sign-up and password-reset throttling, counted in Django's cache (Redis in production, so every
web worker shares the counts; the local-memory default counts per process).

Why per (account, address): a lock on the account alone lets a stranger lock its owner out at will
(10 wrong passwords, every 15 minutes). So failures count per (email, client address), and only that
pair is locked; the owner, from their own address, still gets in. Each counter is a fixed window that
opens at the first attempt it counts:

* 10 failed logins for one email (any letter case) from one client address within 15 minutes lock that
  pair until the window closes; the password is not even checked meanwhile. Success clears the pair.
* 30 failed logins from one address (any accounts) lock that address: a guesser moving between
  accounts, or between the app's and the admin's login, is stopped.
* 100 failed logins for one email from anywhere (a guesser spread over many addresses) lock that email
  for the addresses that have failed on it: an address with no failure on it (its owner's) still gets in.
* Sign-up: 10 per address per hour; confirmation mails 3 per email per hour (silently).
* 5 password-reset requests per email per hour; later ones are dropped silently, so the answer never
  says whether an account exists.
* Unlock links (sessions_app/login_unlock.py) for an account locked from an address: 10 requests per
  address per hour, 3 mails per email per hour (silently). The link clears the (email, address) pair
  of the address that uses it, which also lifts the account-wide cap there; an address lock stays.

The app's login form and the Django admin's use the same counters (sessions_app/forms.py).

Count first, then check: an attempt is counted (one atomic increment that also answers "over the limit?")
before its password is hashed, and given back if the password was right. Checking the count, hashing
(~0.5 s) and counting after would let parallel requests all pass under the limit together.
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


LOGIN_PER_EMAIL_AND_IP = Limit("login-email-ip", 10, 15 * 60)
LOGIN_PER_IP = Limit("login-ip", 30, 15 * 60)
LOGIN_PER_EMAIL = Limit("login-email", 100, 15 * 60)
SIGNUP_PER_IP = Limit("signup-ip", 10, 60 * 60)
SIGNUP_MAIL_PER_EMAIL = Limit("signup-email", 3, 60 * 60)
RESET_PER_EMAIL = Limit("reset-email", 5, 60 * 60)
UNLOCK_PER_IP = Limit("unlock-ip", 10, 60 * 60)
UNLOCK_MAIL_PER_EMAIL = Limit("unlock-email", 3, 60 * 60)


# --- Counters -------------------------------------------------------------------------------------------


def _keys(limit: Limit, ident: str) -> tuple[str, str]:
    # Hashed: cache keys stay short and safe for any backend, and the cache holds no email addresses.
    digest = hashlib.sha256(ident.strip().lower().encode()).hexdigest()[:32]
    base = f"throttle:{limit.scope}:{digest}"
    return f"{base}:n", f"{base}:since"


def _pair(email: str | None, ip: str | None) -> str | None:
    return f"{email.strip().lower()}|{ip}" if email and ip else None


def count_of(limit: Limit, ident: str | None) -> int:
    return cache.get(_keys(limit, ident)[0], 0) if ident else 0


def retry_after(limit: Limit, ident: str | None) -> int:
    """Seconds until `ident` may try again under `limit`; 0 when it may try now."""
    if not ident:
        return 0
    count_key, since_key = _keys(limit, ident)
    values = cache.get_many([count_key, since_key])
    if values.get(count_key, 0) < limit.attempts:
        return 0
    since = values.get(since_key, time.time())
    return max(1, math.ceil(since + limit.window_s - time.time()))


def hit(limit: Limit, ident: str | None) -> int:
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


def give_back(limit: Limit, ident: str | None) -> None:
    """Undo one `_hit` (an attempt that turned out not to count)."""
    if not ident:
        return
    try:
        if cache.decr(_keys(limit, ident)[0]) < 0:
            cache.delete(_keys(limit, ident)[0])
    except ValueError:  # the window closed meanwhile: nothing left to give back
        pass


def admit(limits: list[tuple[Limit, str | None]]) -> int:
    """Count one attempt against every (limit, ident) at once, before the slow part runs.

    Returns 0 when it is under every limit (it stays counted), else the seconds to wait (then nothing
    stays counted: refused attempts don't extend a lock). Parallel requests each see their own
    increment, so at most `attempts` of them pass per window.
    """
    counts = [(limit, ident, hit(limit, ident)) for limit, ident in limits if ident]
    over = [(limit, ident) for limit, ident, count in counts if count > limit.attempts]
    if not over:
        return 0
    for limit, ident, _count_ in counts:
        give_back(limit, ident)
    return max(max(1, retry_after(limit, ident)) for limit, ident in over)


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
    """Seconds before this email may try to log in again from this address; 0 when it may now.
    Only for telling; a login counts itself with `login_attempt_begin`."""
    pair = _pair(email, ip)
    wait = max(retry_after(LOGIN_PER_EMAIL_AND_IP, pair), retry_after(LOGIN_PER_IP, ip))
    # The account-wide cap holds only addresses that have failed on this account themselves.
    if count_of(LOGIN_PER_EMAIL_AND_IP, pair) or not ip:
        wait = max(wait, retry_after(LOGIN_PER_EMAIL, email))
    return wait


def login_attempt_begin(*, email: str | None, ip: str | None) -> int:
    """Count a login attempt as a failure before its password is checked; 0 when it may be checked,
    else the seconds to wait (and nothing is counted). End it with `login_attempt_succeeded` when
    the password was right; a wrong one needs nothing more."""
    pair = _pair(email, ip)
    wait = admit([(LOGIN_PER_EMAIL_AND_IP, pair), (LOGIN_PER_IP, ip)])
    if wait:
        return wait
    # The account-wide cap holds only addresses that have failed on this account (their pair count
    # before this attempt, in-flight ones included): the owner's own address is spared.
    if count_of(LOGIN_PER_EMAIL_AND_IP, pair) > 1 or not ip:
        wait = admit([(LOGIN_PER_EMAIL, email)])
    else:
        hit(LOGIN_PER_EMAIL, email)
    if wait:
        give_back(LOGIN_PER_EMAIL_AND_IP, pair)
        give_back(LOGIN_PER_IP, ip)
    return wait


def login_attempt_succeeded(*, email: str | None, ip: str | None) -> None:
    """The right password: forget this pair's failures and give back the attempt's other counts."""
    _clear(LOGIN_PER_EMAIL_AND_IP, _pair(email, ip))
    give_back(LOGIN_PER_IP, ip)
    give_back(LOGIN_PER_EMAIL, email)


def login_unlock_would_help(*, email: str | None, ip: str | None) -> bool:
    """Whether this email is locked from this address by its own counts (the pair, or the account-wide cap)
    and not by the address's: only then can an unlock link let its owner in."""
    pair = _pair(email, ip)
    account_locked = bool(retry_after(LOGIN_PER_EMAIL_AND_IP, pair)) or (
        bool(count_of(LOGIN_PER_EMAIL_AND_IP, pair)) and bool(retry_after(LOGIN_PER_EMAIL, email)))
    return account_locked and not retry_after(LOGIN_PER_IP, ip)


def login_unlock_record(*, email: str | None, ip: str | None) -> None:
    """An unlock link was used from `ip`: forget this pair's failures, as a right password would."""
    _clear(LOGIN_PER_EMAIL_AND_IP, _pair(email, ip))


def login_failure_record(*, email: str | None, ip: str | None) -> None:
    """Count one failed login without a check (tests and tools; the login form uses login_attempt_begin)."""
    hit(LOGIN_PER_EMAIL_AND_IP, _pair(email, ip))
    hit(LOGIN_PER_IP, ip)
    hit(LOGIN_PER_EMAIL, email)


def _take(limit: Limit, ident: str | None) -> bool:
    """Count one use of `limit` for `ident` if it is under the limit; False (nothing counted) once over it."""
    return not admit([(limit, ident)])


def signup_attempt(*, ip: str | None) -> int:
    """Count one sign-up from this address; 0 when allowed, else the seconds to wait (nothing counted)."""
    return admit([(SIGNUP_PER_IP, ip)])


def signup_mail_allowed(*, email: str | None) -> bool:
    """Count one sign-up confirmation mail for `email`; False once it is over the hourly limit (silently)."""
    return _take(SIGNUP_MAIL_PER_EMAIL, email)


def password_reset_allowed(*, email: str | None) -> bool:
    """Count one reset request for `email`; False once it is over the hourly limit."""
    return _take(RESET_PER_EMAIL, email)


def unlock_request_attempt(*, ip: str | None) -> int:
    """Count one unlock-link request from this address; 0 when allowed, else the seconds to wait."""
    return admit([(UNLOCK_PER_IP, ip)])


def unlock_mail_allowed(*, email: str | None) -> bool:
    """Count one unlock mail for `email`; False once it is over the hourly limit (silently)."""
    return _take(UNLOCK_MAIL_PER_EMAIL, email)


def retry_message(seconds: int, *, what: str = "failed attempts") -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return f"Too many {what}; try again in {minutes} minute{'' if minutes == 1 else 's'}."
