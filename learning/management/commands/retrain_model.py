"""`manage.py retrain_model [--inline] [--from-scratch] [--epochs N] [--no-wait]`: one retraining run.

Without --inline the run goes to the `training` queue and this command follows its progress until it ends.
Progress goes to stderr; the LAST line on stdout is one JSON object:
{"version_id", "name", "live", "metrics": {...}, "gate": {...}, "data": {...}, "seconds"}
(with "status" and "error" added and version_id null when the run failed or was cancelled).
"""
from __future__ import annotations

import json
import sys
import time

from django.core.management.base import BaseCommand, CommandError

from learning import services
from classifier.models import TrainingRun


class Command(BaseCommand):
    help = "Retrain the eye model on the base data plus the corrections; gate it against the live model."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--inline", action="store_true", help="train in this process (no worker needed)")
        parser.add_argument("--from-scratch", action="store_true", help="do not start from the live model's weights")
        parser.add_argument("--epochs", type=int, default=None, help="epochs (default: a setting per mode)")
        parser.add_argument("--no-wait", action="store_true", help="queue the run and print its id")

    def handle(self, *args, **options) -> None:
        if options["epochs"] is not None and options["epochs"] < 1:
            raise CommandError("--epochs must be at least 1")
        services.training_runs_fail_stale()
        try:
            run = services.training_run_create(by=None, from_scratch=options["from_scratch"],
                                               epochs=options["epochs"], enqueue=not options["inline"])
        except services.TrainingRunError as exc:
            raise CommandError(exc.reason) from None
        echo = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
        echo(f"training run {run.pk} {'running here' if options['inline'] else 'queued on `training`'}")
        if options["inline"]:
            run = services.training_run_execute(run_id=run.pk, echo=echo)
        elif options["no_wait"]:
            self.stdout.write(json.dumps({"run_id": run.pk, "status": run.status}))
            return
        else:
            run = self._follow(run, echo)
        self.stdout.write(services.training_summary_line(run))
        if run.status != TrainingRun.Status.DONE:
            sys.exit(1)

    def _follow(self, run: TrainingRun, echo) -> TrainingRun:
        shown = 0
        while True:
            run.refresh_from_db()
            lines = run.log.splitlines()
            for line in lines[shown:] if len(lines) >= shown else lines:
                echo(line)
            shown = len(lines)
            if not run.is_active:
                return run
            time.sleep(1.0)
