"""Forms validate input only; services do the writing."""
from __future__ import annotations

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm

from . import login_throttle
from .models import Client, User


class EmailAuthenticationForm(AuthenticationForm):
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

    def clean_username(self) -> str:
        return self.cleaned_data["username"].strip().lower()

    def clean(self):
        # Throttled before authenticate(): a locked-out email or address never gets its password checked.
        email = self.cleaned_data.get("username")
        ip = login_throttle.client_ip(self.request)
        wait = login_throttle.login_retry_after(email=email, ip=ip)
        if wait:
            raise forms.ValidationError(login_throttle.retry_message(wait), code="throttled")
        try:
            cleaned = super().clean()
        except forms.ValidationError as exc:
            if exc.code == "invalid_login":
                login_throttle.login_failure_record(email=email, ip=ip)
            raise
        if self.user_cache is not None:
            login_throttle.login_success_record(email=email)
        return cleaned


class ThrottledPasswordResetForm(PasswordResetForm):
    """At most a few reset mails per email per hour. Over the limit nothing is sent, and the page says
    the same as always, so it never tells whether the account exists."""

    def save(self, *args, **kwargs) -> None:
        email = self.cleaned_data["email"]
        if not login_throttle.password_reset_allowed(email=email):
            return
        super().save(*args, **kwargs)


class SignupForm(forms.Form):
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}))
    name = forms.CharField(max_length=150, required=False, label="Your name")
    studio_name = forms.CharField(max_length=150, required=False, label="Studio name")
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Password again", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this email already exists. Log in or reset your password.")
        return email

    def clean(self):
        cleaned = super().clean()
        p1, p2 = cleaned.get("password1"), cleaned.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", "The two passwords don't match.")
        elif p1:
            probe = User(email=cleaned.get("email") or "", name=cleaned.get("name") or "")
            try:
                password_validation.validate_password(p1, probe)
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned


class ClientForm(forms.Form):
    name = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"autofocus": True}))
    email = forms.EmailField(required=False)
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}))


class SessionForm(forms.Form):
    title = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"autofocus": True, "placeholder": "e.g. Smith family, spring portraits"}))
    shot_on = forms.DateField(required=False, label="Shot on", widget=forms.DateInput(attrs={"type": "date"}))
    client = forms.ModelChoiceField(
        queryset=Client.objects.none(), required=False, to_field_name="uuid", empty_label="— no client —"
    )
    new_client_name = forms.CharField(max_length=200, required=False, label="…or a new client")

    def __init__(self, *args, owner: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Only the photographer's own clients can be picked: a foreign uuid is "not a valid choice".
        self.fields["client"].queryset = Client.objects.filter(owner=owner).order_by("name")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("client") and (cleaned.get("new_client_name") or "").strip():
            raise forms.ValidationError("Pick an existing client or type a new name, not both.")
        return cleaned
