"""Write (or merge) Eye Spy's XMP beside the photographer's own copies of a session's originals."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from review.exports import ExportError
from review.exports.folder_sync import FAILED, xmp_sync

from ..arguments import add_xmp_arguments, find_session, xmp_options


class Command(BaseCommand):
    help = (
        "Sync SESSION_ID's verdicts to the folder DIR (searched recursively) where your own copies of the "
        "originals are: each judged photo's file, matched by name (any case) and checked by size or capture "
        "time, gets its sidecar written or merged (your keywords, captions and develop settings stay); with "
        "--embed, JPEG, TIFF, DNG and HEIC files get the XMP inside them instead. Files that don't match are listed "
        "and never touched. One line per file."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("session_id", metavar="SESSION_ID", help="session UUID or numeric id")
        parser.add_argument("--to", required=True, metavar="DIR", dest="folder",
                            help="the folder holding your copies of the originals")
        parser.add_argument("--embed", action="store_true",
                            help="write the XMP into JPEG, TIFF, DNG and HEIC files themselves (other RAWs still get "
                                 "a sidecar)")
        parser.add_argument("--dry-run", action="store_true", help="only list what would change")
        add_xmp_arguments(parser)

    def handle(self, *args, **options) -> None:
        session = find_session(options["session_id"])
        try:
            lines = xmp_sync(session=session, folder=options["folder"], embed=options["embed"],
                             dry_run=options["dry_run"], options=xmp_options(options))
        except ExportError as exc:
            raise CommandError(exc.reason) from None
        for line in lines:
            (self.stderr if line.action == FAILED else self.stdout).write(str(line))
        dry = options["dry_run"]
        changed = sum(1 for line in lines if line.action.startswith("would" if dry else ("created", "updated")))
        failed = sum(1 for line in lines if line.action == FAILED)
        self.stdout.write(f"{len(lines)} files looked at, {changed} {'would change' if dry else 'changed'}, "
                          f"{failed} failed.")
