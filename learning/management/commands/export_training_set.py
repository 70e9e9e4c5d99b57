"""`manage.py export_training_set --out DIR [--no-sync]`: the correction dataset as folders.

Writes DIR/closed and DIR/open (the training share: `python -m ml.train --data ../shared/data --extra DIR`),
DIR/frozen/closed and DIR/frozen/open (the frozen validation share: `python -m ml.evaluate DIR/frozen --eyes`)
and DIR/manifest.csv (label, split, rule, tag, photographer, correction, photo, model version per file).
"""
from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand

from learning import services


class Command(BaseCommand):
    help = "Write the training examples cut from corrections to DIR/{closed,open} and DIR/frozen/{closed,open}."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--out", required=True, type=Path)
        parser.add_argument("--no-sync", action="store_true",
                            help="export the examples already cut (skip cutting new ones from corrections)")

    def handle(self, *args, **options) -> None:
        if not options["no_sync"]:
            report = services.training_examples_sync()
            self.stderr.write(f"examples: {report.to_dict()}")
        counts = services.training_set_export(out_dir=options["out"])
        for folder in ("closed", "open", "frozen/closed", "frozen/open"):
            self.stdout.write(f"{folder}: {counts.get(folder, 0)}")
        self.stdout.write(f"wrote {options['out']}")
