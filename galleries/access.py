"""Who may see a gallery: the token, the optional password, and the guest's signed cookie.

* A link is `/g/<token>/` with `secrets.token_urlsafe(32)` (256 random bits): guessing one is hopeless and
  a wrong, revoked or expired token all get the same friendly page.
* A password is stored as Django's password hash. Attempts are counted in the cache with the login
  throttle's counters (sessions_app.login_throttle), before the password is hashed, and a right one is
  given back: 10 per client address per gallery per 15 minutes; then the password is not even checked
  until the window closes. The gallery-wide cap (50 per 15 minutes) holds only addresses that have
  failed on this gallery themselves, as the login's account cap does: strangers guessing from many
  addresses can't lock the real client out, who tries from a new device.
* A guest carries one signed cookie, scoped to the gallery's path: which selection is theirs, and that
  they gave the password. Changing the password changes its fingerprint, so old unlocks stop working.
"""
from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core import signing
from django.http import HttpRequest, HttpResponse

from sessions_app import login_throttle
from sessions_app.login_throttle import Limit
from sessions_app.models import Gallery, Selection

TOKEN_BYTES = 32  # 256 bits; the issue asks for at least 128
COOKIE_NAME = "eyespy_guest"
COOKIE_MAX_AGE = 180 * 24 * 3600  # a client may come back to choose weeks later
PASSWORD_PER_IP = Limit("gallery-pw-ip", 10, 15 * 60)
PASSWORD_PER_GALLERY = Limit("gallery-pw", 50, 15 * 60)


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_password(raw: str) -> str:
    return make_password(raw) if raw else ""


def gallery_get_open(*, token: str) -> Gallery | None:
    """The gallery behind a public token, only while its link works; None for anything else."""
    if not token or len(token) > 64:
        return None
    gallery = Gallery.objects.select_related("session", "session__owner").filter(token=token).first()
    if gallery is None or not gallery.is_open:
        return None
    return gallery


# --- Password attempts ------------------------------------------------------------------------------------


def _idents(gallery: Gallery, request: HttpRequest) -> tuple[str, str]:
    ip = login_throttle.client_ip(request) or "unknown"
    return f"{gallery.pk}:{ip}", str(gallery.pk)


def password_attempt(*, gallery: Gallery, request: HttpRequest, raw: str) -> int | None:
    """Check a guest's password, counted first. None: right. 0: wrong (counted). >0: not checked, the
    seconds this client must wait."""
    per_ip, per_gallery = _idents(gallery, request)
    wait = login_throttle.admit([(PASSWORD_PER_IP, per_ip)])
    if wait:
        return wait
    if login_throttle.count_of(PASSWORD_PER_IP, per_ip) > 1:  # this address has failed here before
        wait = login_throttle.admit([(PASSWORD_PER_GALLERY, per_gallery)])
        if wait:
            login_throttle.give_back(PASSWORD_PER_IP, per_ip)
            return wait
    else:
        login_throttle.hit(PASSWORD_PER_GALLERY, per_gallery)
    if check_password(raw or "", gallery.password_hash):
        login_throttle.give_back(PASSWORD_PER_IP, per_ip)
        login_throttle.give_back(PASSWORD_PER_GALLERY, per_gallery)
        return None
    return 0


# --- The guest's cookie ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GuestPass:
    selection_uuid: str = ""
    unlocked: str = ""  # the password fingerprint the guest gave; '' none


def _fingerprint(gallery: Gallery) -> str:
    return hashlib.sha256(gallery.password_hash.encode()).hexdigest()[:16] if gallery.password_hash else ""


def _salt(gallery: Gallery) -> str:
    return f"eyespy.gallery.{gallery.pk}"


def guest_pass(request: HttpRequest, gallery: Gallery) -> GuestPass:
    try:
        value = json.loads(request.get_signed_cookie(COOKIE_NAME, salt=_salt(gallery), max_age=COOKIE_MAX_AGE))
    except (KeyError, signing.BadSignature, ValueError, TypeError):
        return GuestPass()
    if not isinstance(value, dict):
        return GuestPass()
    return GuestPass(selection_uuid=str(value.get("s") or ""), unlocked=str(value.get("u") or ""))


def is_unlocked(gallery: Gallery, gp: GuestPass) -> bool:
    return not gallery.has_password or secrets.compare_digest(gp.unlocked, _fingerprint(gallery))


def unlocked_pass(gallery: Gallery, gp: GuestPass) -> GuestPass:
    return GuestPass(selection_uuid=gp.selection_uuid, unlocked=_fingerprint(gallery))


def with_selection(gp: GuestPass, selection: Selection) -> GuestPass:
    return GuestPass(selection_uuid=str(selection.uuid), unlocked=gp.unlocked)


def set_guest_cookie(response: HttpResponse, *, gallery: Gallery, gp: GuestPass, request: HttpRequest) -> None:
    value = json.dumps({"s": gp.selection_uuid, "u": gp.unlocked})
    response.set_signed_cookie(
        COOKIE_NAME, value, salt=_salt(gallery), max_age=COOKIE_MAX_AGE, path=f"/g/{gallery.token}/",
        httponly=True, samesite="Lax", secure=settings.SESSION_COOKIE_SECURE or request.is_secure(),
    )
