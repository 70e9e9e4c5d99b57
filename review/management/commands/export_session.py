"""Export a session from the command line: the same builders as the web app's Export page."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from review.exports import ExportError, export_write, unresolved
from review.exports.options import CHECK_APART, CHECK_PHOTOS
from review.selectors import session_cards
from sessions_app.models import Export

from ..arguments import add_xmp_arguments, find_session, xmp_options


class Command(BaseCommand):
    help = (
        "Export SESSION_ID (its UUID as in /sessions/<uuid>/, or its numeric id) as keepers-zip (originals of "
        "the keepers), folders-zip (a folder per rejecting check, BLINKING/ for the eyes, NOT_BLINKING/ for keepers, CHECK/ for photos still to check), xmp (one sidecar per photo into the "
        "folder PATH), embedded-zip (every judged original with its XMP written into JPEG/TIFF/DNG/HEIC copies, "
        "a sidecar beside other RAWs) or csv (a report). Labels are the effective ones: corrections first, else "
        "the live model's verdict at the session's strictness."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("session_id", metavar="SESSION_ID", help="session UUID or numeric id")
        parser.add_argument("--format", required=True, choices=Export.Format.values, dest="fmt")
        parser.add_argument("--out", required=True, metavar="PATH",
                            help="file to write (a folder gets a default name); for xmp, the folder for the sidecars")
        add_xmp_arguments(parser)
        parser.add_argument("--check-photos", choices=list(CHECK_PHOTOS), default=CHECK_APART,
                            help="photos still in Check these: apart (default; not among the keepers, CHECK/ "
                                 "folder, check colour), keepers or rejects")
        parser.add_argument("--best-of-bursts", action="store_true",
                            help="keepers: only the best frame of each burst (and every single frame)")

    def handle(self, *args, **options) -> None:
        session = find_session(options["session_id"])
        chosen = {**xmp_options(options), "check_photos": options["check_photos"],
                  "best_of_bursts": options["best_of_bursts"]}
        try:
            path, written = export_write(session=session, fmt=options["fmt"], out=options["out"], options=chosen)
        except ExportError as exc:
            raise CommandError(exc.reason) from None
        what = "sidecars" if options["fmt"] == Export.Format.XMP else "photos"
        self.stdout.write(f"{written} {what} from “{session.title}” written to {path}")
        if (left := unresolved(session_cards(session=session))) and options["check_photos"] == CHECK_APART:
            # Said on stderr: the last stdout line stays the summary other tools read.
            self.stderr.write(f"{left} photo{'s' if left != 1 else ''} still to check (nobody decided "
                              f"{'them' if left != 1 else 'it'}) kept apart, not among the keepers: review "
                              f"{'them' if left != 1 else 'it'} first, or pass --check-photos keepers|rejects")
