"""`manage.py seed_demo`: ensure a demo photographer exists and print how to log in (used by bin/run)."""
from __future__ import annotations

import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from sessions_app.models import User
from sessions_app.services import user_signup

DEMO_EMAIL = "demo@eyespy.local"
DEMO_PASSWORD = "eyespy-demo"


class Command(BaseCommand):
    help = (
        "Create (or reset the password of) the demo photographer for a local try-out and print the login. "
        "Refuses to run with DEBUG off unless --force is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", default=os.environ.get("EYESPY_DEMO_EMAIL", DEMO_EMAIL))
        parser.add_argument(
            "--password",
            default=os.environ.get("EYESPY_DEMO_PASSWORD", DEMO_PASSWORD),
            help="Default: $EYESPY_DEMO_PASSWORD or a fixed demo password (local use only).",
        )
        parser.add_argument("--force", action="store_true", help="Also run when DEBUG is off.")

    def handle(self, *args, email: str, password: str, force: bool, **options) -> None:
        if not settings.DEBUG and not force:
            raise CommandError("DEBUG is off: a demo account with a known password is refused (use --force).")
        user, created = self.ensure_user(email=email.strip().lower(), password=password)
        verb = "Created" if created else "Reset"
        self.stdout.write(f"{verb} demo photographer. Log in with:")
        self.stdout.write(f"  email:    {user.email}")
        self.stdout.write(f"  password: {password}")

    def ensure_user(self, *, email: str, password: str) -> tuple[User, bool]:
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            return user_signup(email=email, password=password, name="Demo Photographer"), True
        # Reset every time so the login printed above always works.
        user.set_password(password)
        user.is_active = True
        user.save(update_fields=["password", "is_active"])
        return user, False
