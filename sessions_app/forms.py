"""Forms validate input only; services do the writing."""
from __future__ import annotations

from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm

from . import login_throttle
from .models import User


class ThrottledLoginMixin:
    """Refuses a login while its (email, address) pair, its address or (for addresses that failed on it)
    its account is over the limit, and counts each failure (sessions_app/login_throttle.py)."""

    def clean_username(self) -> str:
        return (self.cleaned_data.get("username") or "").strip().lower()

    # Set when the login is locked in a way a mailed unlock link can lift (the page then offers one).
    unlock_offer = False

    def clean(self):
        # Counted before authenticate() (count first, then check): a locked-out pair or address never gets
        # its password hashed, and parallel attempts can't all slip in under the limit.
        email = self.cleaned_data.get("username")
        ip = login_throttle.client_ip(self.request)
        wait = login_throttle.login_attempt_begin(email=email, ip=ip)
        if wait:
            self.unlock_offer = login_throttle.login_unlock_would_help(email=email, ip=ip)
            raise forms.ValidationError(login_throttle.retry_message(wait), code="throttled")
        cleaned = super().clean()  # a wrong password raises here and stays counted
        if self.user_cache is not None:
            login_throttle.login_attempt_succeeded(email=email, ip=ip)
        return cleaned


class ThrottledAdminAuthenticationForm(ThrottledLoginMixin, AdminAuthenticationForm):
    """The Django admin's login (staff see every studio's data), throttled with the same counters."""


class EmailAuthenticationForm(ThrottledLoginMixin, AuthenticationForm):
    """Log in with an email address, in any letter case (accounts are stored lower-case)."""

    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )
    # Django's default says "both fields may be case-sensitive"; the email here never is.
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That email and password don't match an account. Check the password: "
                         "it is case-sensitive (the email isn't).",
    }


class ThrottledPasswordResetForm(PasswordResetForm):
    """At most a few reset mails per email per hour. Over the limit nothing is sent, and the page says
    the same as always, so it never tells whether the account exists.

    The link is built from SITE_URL, never from the request's Host header: a forged Host would
    otherwise put an attacker's domain in front of a valid reset token."""

    def save(self, *args, **kwargs) -> None:
        email = self.cleaned_data["email"]
        if not login_throttle.password_reset_allowed(email=email):
            return
        site = urlsplit(settings.SITE_URL)
        kwargs.update(domain_override=site.netloc, use_https=site.scheme == "https")
        super().save(*args, **kwargs)


class UnlockRequestForm(forms.Form):
    """"Email me an unlock link" on a locked login page (sessions_app/login_unlock.py)."""

    email = forms.EmailField()


class SignupForm(forms.Form):
    """Only who you are: the password is chosen from the link mailed to the address, so the form's
    answer is the same whether or not the email already has an account (sessions_app/signup.py)."""

    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}))
    name = forms.CharField(max_length=150, required=False, label="Your name")
    studio_name = forms.CharField(max_length=150, required=False, label="Studio name")

    def clean_email(self) -> str:
        return User.objects.normalize_email(self.cleaned_data["email"]).strip().lower()


class ClientForm(forms.Form):
    name = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"autofocus": True}))
    email = forms.EmailField(required=False)
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}))
