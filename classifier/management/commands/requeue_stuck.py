"""`manage.py requeue_stuck`: the stuck-work sweeper, by hand (the worker's beat runs it every 2 minutes)."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from classifier import services


class Command(BaseCommand):
    help = (
        "Re-queue photos stuck in 'processing' longer than EYESPY_STUCK_AFTER_SECONDS (failing them after "
        "EYESPY_MAX_ATTEMPTS), and re-send photos left 'queued' by a lost broker message."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            type=int,
            default=None,
            metavar="SECONDS",
            help="Treat work as stuck after this many seconds (default: EYESPY_STUCK_AFTER_SECONDS). "
            "Use 0 only while no worker is running, e.g. right before starting one.",
        )

    def handle(self, *args, older_than: int | None = None, **options) -> None:
        if older_than is not None and older_than < 0:
            self.stderr.write("--older-than must be >= 0")
            raise SystemExit(2)
        report = services.photos_sweep_stuck(stuck_after=older_than)
        self.stdout.write(f"Stuck photos: {report}")
