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
        "Create the demo photographer for a local try-out (once: a password you changed stays yours) and print "
        "the login. --reset sets the demo password again. Refuses to run with DEBUG off unless --force is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", default=os.environ.get("EYESPY_DEMO_EMAIL", DEMO_EMAIL))
        parser.add_argument(
            "--password",
            default=os.environ.get("EYESPY_DEMO_PASSWORD", DEMO_PASSWORD),
            help="Default: $EYESPY_DEMO_PASSWORD or a fixed demo password (local use only).",
        )
        parser.add_argument("--reset", action="store_true", help="Set the password again on an existing account.")
        parser.add_argument("--force", action="store_true", help="Also run when DEBUG is off.")

    def handle(self, *args, email: str, password: str, reset: bool, force: bool, **options) -> None:
        if not settings.DEBUG and not force:
            raise CommandError("DEBUG is off: a demo account with a known password is refused (use --force).")
        email = email.strip().lower()
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            user = user_signup(email=email, password=password, name="Demo Photographer")
            self.stdout.write("Created demo photographer. Log in with:")
        elif reset:
            user.set_password(password)
            user.is_active = True
            user.save(update_fields=["password", "is_active"])
            self.stdout.write("Reset the demo photographer's password. Log in with:")
        else:
            self.stdout.write("Demo photographer. Log in with:")
        self.stdout.write(f"  email:    {user.email}")
        # Only print a password that works: one the photographer changed stays theirs and is not shown.
        if user.check_password(password):
            self.stdout.write(f"  password: {password}")
        else:
            self.stdout.write("  password: the one you set (manage.py seed_demo --reset sets it back)")
