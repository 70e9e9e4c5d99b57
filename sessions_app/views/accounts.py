"""Sign-up and log-in. Password change/reset use Django's views with our templates (urls_accounts.py)."""
from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy

from .. import login_throttle, signup as signups
from ..forms import EmailAuthenticationForm, SignupForm, ThrottledPasswordResetForm


class LoginView(auth_views.LoginView):
    # The form throttles repeated failures per email and per client address (sessions_app/login_throttle.py).
    form_class = EmailAuthenticationForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "allow_signup": settings.EYESPY_ALLOW_SIGNUP}


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
        wait = login_throttle.signup_retry_after(ip=ip)
        if wait:
            form.add_error(None, login_throttle.retry_message(wait, what="sign-ups from your address"))
        else:
            login_throttle.signup_attempt_record(ip=ip)
            signups.signup_request(**form.cleaned_data)  # the same answer whether or not the email is known
            return redirect("signup_sent")
    return render(request, "registration/signup.html", {"form": form})


def signup_sent(request: HttpRequest) -> HttpResponse:
    if not settings.EYESPY_ALLOW_SIGNUP:
        raise Http404("Sign-up is switched off on this server.")
    return render(request, "registration/signup_sent.html")


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
