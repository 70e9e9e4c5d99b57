"""Sign-up and log-in. Password change/reset use Django's views with our templates (urls_accounts.py)."""
from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from .. import services
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
        try:
            user = services.user_signup(
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
                name=form.cleaned_data["name"],
                studio_name=form.cleaned_data["studio_name"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, "Welcome to Eye Spy! Start with a session and drop your photos in.")
            return redirect("sessions:dashboard")
    return render(request, "registration/signup.html", {"form": form})


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    """'Check your email' — or, with no mail server set up (console backend), where the link really went."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["mail_in_terminal"] = settings.EMAIL_BACKEND.endswith("console.EmailBackend")
        return context
