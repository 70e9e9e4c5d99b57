"""`manage.py ensure_default_model`: make sure a live eye model exists (run on every deploy/start)."""
from __future__ import annotations

from django.core.management.base import BaseCommand

from classifier import services


class Command(BaseCommand):
    help = (
        "Register the eye model bundled with the code (ml/models/eye_cnn.tflite) and make it live when no "
        "model is live, or when the live model is an older bundled one. A trained live model is kept."
    )

    def handle(self, *args, **options) -> None:
        live, changed = services.model_version_ensure_default()
        state = "now live" if changed else "live"
        self.stdout.write(f"Eye model {live.name} is {state}.")
