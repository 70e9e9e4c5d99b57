"""Sign-up that never tells whether an email already has an account.

Why by mail: an answer that differs for a taken email ("already exists", or an instant login for a new
one) lets anyone test which studios use this server. So every valid sign-up gets the same page ("check
your inbox") and one mail, whose content depends on the account:

* a new email: an account is created inactive with no usable password; the mail links to a page where
  the owner of the inbox chooses the password, which activates the account and logs them in. Nobody
  can set a password for an address they don't read.
* a not yet confirmed account: the confirmation link is sent again (name and studio are left as first
  given, so a stranger can't rename someone's pending account).
* an active account: a note that the account exists, with a password-reset link.
* a deactivated account: nothing (staff turned it off; the page looks the same).

Mails go out at most SIGNUP_MAIL_PER_EMAIL times an hour per address, silently; sign-ups are capped per
client address (login_throttle). Links are built from SITE_URL, never from the request's Host header.
"""
from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator, default_token_generator
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from . import login_throttle
from .models import User

logger = logging.getLogger(__name__)


class SignupTokenGenerator(PasswordResetTokenGenerator):
    """Like a reset token (it dies once the password is set or the user logs in), but not
    interchangeable with one."""

    key_salt = "eyespy.signup.SignupTokenGenerator"


signup_token_generator = SignupTokenGenerator()


def _link(route: str, user: User, generator: PasswordResetTokenGenerator) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return settings.SITE_URL + reverse(route, kwargs={"uidb64": uid, "token": generator.make_token(user)})


def _send(template: str, user: User, context: dict) -> None:
    subject = render_to_string(f"registration/{template}_subject.txt").strip()
    body = render_to_string(f"registration/{template}_email.txt", {"user": user, "site_url": settings.SITE_URL, **context})
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])


def _create_pending(*, email: str, name: str, studio_name: str) -> User | None:
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                email=email, password=None, name=name.strip(), studio_name=studio_name.strip(), is_active=False
            )
    except IntegrityError:  # the same email signed up at the same moment: treat it as existing
        return None
    return user


def signup_request(*, email: str, name: str = "", studio_name: str = "") -> None:
    """Handle a valid sign-up form. Same outcome for the caller whatever the email's state."""
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = _create_pending(email=email, name=name, studio_name=studio_name)
        if user is None:
            return
    if not login_throttle.signup_mail_allowed(email=email):
        logger.info("sign-up mail limit reached for one address; nothing sent")
        return
    pending = not user.is_active and not user.has_usable_password() and user.last_login is None
    if pending:
        _send("signup_confirm", user, {"link": _link("signup_confirm", user, signup_token_generator)})
    elif user.is_active:
        _send("signup_existing", user, {"link": _link("password_reset_confirm", user, default_token_generator)})
