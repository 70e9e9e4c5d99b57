"""Sign-up and log-in. Password change/reset use Django's views with our templates (urls_accounts.py)."""
from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_http_methods, require_POST

from .. import login_throttle, login_unlock
from .. import signup as signups
from ..forms import EmailAuthenticationForm, SignupForm, ThrottledPasswordResetForm, UnlockRequestForm

# The same words whether or not the email has an account, or is locked (sessions_app/login_unlock.py).
UNLOCK_SENT = (f"If that email has an account locked from here, an unlock link is on its way. It works once, "
               f"within {login_unlock.LINK_MAX_AGE // 60} minutes.")


class LoginView(auth_views.LoginView):
    # The form throttles repeated failures per email and per client address (sessions_app/login_throttle.py).
    form_class = EmailAuthenticationForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "allow_signup": settings.EYESPY_ALLOW_SIGNUP}


@require_POST
def login_unlock_request(request: HttpRequest) -> HttpResponse:
    form = UnlockRequestForm(request.POST)
    if form.is_valid():
        ip = login_throttle.client_ip(request)
        wait = login_throttle.unlock_request_attempt(ip=ip)  # counted before anything is looked up
        if wait:
            messages.error(request, login_throttle.retry_message(wait, what="unlock requests from your address"))
        else:
            login_unlock.unlock_request(email=form.cleaned_data["email"], ip=ip)
            messages.info(request, UNLOCK_SENT)
    return redirect("login")


@require_http_methods(["GET", "POST"])
def login_unlock_use(request: HttpRequest, token: str) -> HttpResponse:
    """The mailed link. Opening it changes nothing (mail scanners open links); its button unlocks."""
    if request.method == "POST" and login_unlock.unlock_use(token=token, ip=login_throttle.client_ip(request)):
        messages.success(request, "Unlocked. Log in with your password.")
        return redirect("login")
    valid = login_unlock.unlock_token_user(token) is not None
    return render(request, "registration/login_unlock.html", {"valid": valid}, status=200 if valid else 404)


class PasswordResetView(auth_views.PasswordResetView):
    form_class = ThrottledPasswordResetForm


def signup(request: HttpRequest) -> HttpResponse:
    if not settings.EYESPY_ALLOW_SIGNUP:
        raise Http404("Sign-up is switched off on this server.")
    if request.user.is_authenticated:
        return redirect("sessions:dashboard")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        ip = login_throttle.client_ip(request)
        wait = login_throttle.signup_attempt(ip=ip)  # counted before the mail goes out
        if wait:
            form.add_error(None, login_throttle.retry_message(wait, what="sign-ups from your address"))
        else:
            signups.signup_request(**form.cleaned_data)  # the same answer whether or not the email is known
            return redirect("signup_sent")
    return render(request, "registration/signup.html", {"form": form})


def signup_sent(request: HttpRequest) -> HttpResponse:
    if not settings.EYESPY_ALLOW_SIGNUP:
        raise Http404("Sign-up is switched off on this server.")
    return render(request, "registration/signup_sent.html",
                  {"mail_in_terminal": settings.EMAIL_BACKEND.endswith("console.EmailBackend")})


class SignupConfirmView(auth_views.PasswordResetConfirmView):
    """The mailed sign-up link: choose a password, which activates the account and logs in."""

    token_generator = signups.signup_token_generator
    template_name = "registration/signup_confirm.html"
    success_url = reverse_lazy("sessions:dashboard")
    post_reset_login = True
    post_reset_login_backend = "django.contrib.auth.backends.ModelBackend"

    def form_valid(self, form):
        form.user.is_active = True  # only the inbox's owner has this link: the account is theirs
        messages.success(self.request, "Welcome to Eye Spy! Start with a session and drop your photos in.")
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    """'Check your email' — or, with no mail server set up (console backend), where the link really went."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["mail_in_terminal"] = settings.EMAIL_BACKEND.endswith("console.EmailBackend")
        return context
