"""Photographer accounts."""
from __future__ import annotations

from django.core.exceptions import ValidationError

from ..models import User


def user_signup(*, email: str, password: str, name: str = "", studio_name: str = "") -> User:
    email = User.objects.normalize_email(email).strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": "An account with this email already exists."})
    return User.objects.create_user(email=email, password=password, name=name.strip(), studio_name=studio_name.strip())
