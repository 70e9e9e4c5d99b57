"""Emailed unlock links for a login locked from one address (sessions_app/login_throttle.py).

Why: the throttle locks an (email, address) pair, so a stranger elsewhere can't lock the owner out; but
the owner's own typos, or a guesser on the same network (an office, a café), still can. The locked
login page offers "email me an unlock link"; whoever reads the account's inbox can clear the lock.

* The answer never says whether the account exists: every valid request gets the same message, and a
  mail goes out only for an active account that really is locked from the requesting address, at most
  UNLOCK_MAIL_PER_EMAIL times an hour (silently); requests are capped per address (UNLOCK_PER_IP).
* The link is signed (django.core.signing, its own salt) and carries the account id, a timestamp
  (good for LINK_MAX_AGE) and a one-time nonce kept in the cache next to the throttle's counters: using
  it deletes the nonce, so it works once. The counters and the nonce live and die together: a cache
  that forgets the nonce has forgotten the lock too.
* Opening the link changes nothing (mail scanners open links); its page's button (a POST) clears the
  pair of the address that presses it (login_throttle.login_unlock_record). Links are built from
  SITE_URL, never from the request's Host header.
"""
from __future__ import annotations

import logging
import secrets

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from . import login_throttle
from .models import User

logger = logging.getLogger(__name__)

LINK_MAX_AGE = 60 * 60
_SALT = "eyespy.login-unlock"


def _nonce_key(nonce: str) -> str:
    return f"login-unlock:{nonce}"


def unlock_token_make(user: User) -> str:
    nonce = secrets.token_urlsafe(16)
    cache.set(_nonce_key(nonce), user.pk, timeout=LINK_MAX_AGE)
    return signing.dumps({"u": user.pk, "n": nonce}, salt=_SALT, compress=False)


def unlock_token_user(token: str) -> User | None:
    """The active account a valid, unused, unexpired token names; None otherwise. Uses nothing up."""
    try:
        payload = signing.loads(token, salt=_SALT, max_age=LINK_MAX_AGE)
    except signing.BadSignature:  # includes SignatureExpired
        return None
    if not isinstance(payload, dict) or cache.get(_nonce_key(str(payload.get("n")))) != payload.get("u"):
        return None
    return User.objects.filter(pk=payload.get("u"), is_active=True).first()


def unlock_request(*, email: str, ip: str | None) -> None:
    """Handle a valid "email me an unlock link" form. Same outcome for the caller whatever the email."""
    user = User.objects.filter(email__iexact=email, is_active=True).first()
    if user is None or not login_throttle.login_unlock_would_help(email=user.email, ip=ip):
        return
    if not login_throttle.unlock_mail_allowed(email=user.email):
        logger.info("unlock mail limit reached for one address; nothing sent")
        return
    link = settings.SITE_URL + reverse("login_unlock", kwargs={"token": unlock_token_make(user)})
    subject = render_to_string("registration/login_unlock_subject.txt").strip()
    body = render_to_string("registration/login_unlock_email.txt", {
        "user": user, "link": link, "site_url": settings.SITE_URL, "minutes": LINK_MAX_AGE // 60})
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])


def unlock_use(*, token: str, ip: str | None) -> User | None:
    """Use a link from `ip`: its account's lock there is cleared. None when the link is bad, old or used."""
    user = unlock_token_user(token)
    if user is None:
        return None
    nonce = signing.loads(token, salt=_SALT, max_age=LINK_MAX_AGE)["n"]
    if not cache.delete(_nonce_key(nonce)):  # two presses at once: only the one that deleted it counts
        return None
    login_throttle.login_unlock_record(email=user.email, ip=ip)
    logger.info("login unlocked by mailed link for user %s", user.pk)
    return user
