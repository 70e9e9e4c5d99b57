"""Export a session from the command line: the same builders as the web app's Export page."""
from __future__ import annotations

import uuid

from django.core.management.base import BaseCommand, CommandError, CommandParser

from review.exports import NAMINGS, ExportError, export_write
from sessions_app.models import Export, PhotoSession


class Command(BaseCommand):
    help = (
        "Export SESSION_ID (its UUID as in /sessions/<uuid>/, or its numeric id) as keepers-zip (originals of "
        "the keepers), folders-zip (a folder per rejecting check, BLINKING/ for the eyes, NOT_BLINKING/ for keepers, CHECK/ for photos still to check), xmp (one sidecar per photo into the "
        "folder PATH), embedded-zip (every judged original with its XMP written into JPEG/TIFF/DNG copies, a sidecar beside RAWs and HEIC) or csv (a report). Labels are the effective ones: corrections first, else the live "
        "model's verdict at the session's strictness."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("session_id", metavar="SESSION_ID", help="session UUID or numeric id")
        parser.add_argument("--format", required=True, choices=Export.Format.values, dest="fmt")
        parser.add_argument("--out", required=True, metavar="PATH",
                            help="file to write (a folder gets a default name); for xmp, the folder for the sidecars")
        parser.add_argument("--rating-keeper", type=int, default=0, help="xmp:Rating for keepers (default 0)")
        parser.add_argument("--rating-reject", "--rating-blinking", type=int, default=-1, dest="rating_blinking",
                            help="xmp:Rating for rejects, whichever check rejected them (default -1 = rejected); "
                                 "--rating-blinking is the old name")
        parser.add_argument("--label-keeper", default="",
                            help="xmp:Label for keepers: Red, Yellow, Green, Blue, Purple or none (default none)")
        parser.add_argument("--label-reject", "--label-blinking", default="Red", dest="label_blinking",
                            help="xmp:Label for rejects: Red, Yellow, Green, Blue, Purple or none (default Red); "
                                 "--label-blinking is the old name")
        parser.add_argument("--flag-keyword", action="append", default=[], metavar="KEY=TEXT", dest="flag_keywords",
                            help="the XMP keyword for a check's flag (repeatable; KEY as `python -m ml.detectors` "
                                 "lists; TEXT 'none' for no keyword; default: the check's own, e.g. Eye Spy|blink)")
        parser.add_argument("--label-check", default="Purple",
                            help="xmp:Label for photos still to check (their rating follows the verdict): Red, "
                                 "Yellow, Green, Blue, Purple or none for the verdict's own label (default Purple)")
        parser.add_argument("--keep-their-rating", action="store_true",
                            help="where a file already has a rating or colour label someone set, keep it "
                                 "(our keywords and reasons still go in)")
        parser.add_argument("--xmp-naming", choices=list(NAMINGS), default="basename",
                            help="basename: IMG_0001.xmp (Lightroom, Capture One); full: IMG_0001.JPG.xmp (darktable)")

    def handle(self, *args, **options) -> None:
        session = self.find_session(options["session_id"])
        export_options = {
            key: options[key]
            for key in ("rating_keeper", "rating_blinking", "label_keeper", "label_blinking", "label_check",
                        "xmp_naming", "flag_keywords", "keep_their_rating")
        }
        try:
            path, written = export_write(
                session=session, fmt=options["fmt"], out=options["out"], options=export_options
            )
        except ExportError as exc:
            raise CommandError(exc.reason) from None
        what = "sidecars" if options["fmt"] == Export.Format.XMP else "photos"
        self.stdout.write(f"{written} {what} from “{session.title}” written to {path}")

    def find_session(self, raw: str) -> PhotoSession:
        raw = raw.strip()
        try:
            if raw.isdigit():
                return PhotoSession.objects.get(pk=int(raw))
            return PhotoSession.objects.get(uuid=uuid.UUID(raw))
        except (ValueError, PhotoSession.DoesNotExist):
            raise CommandError(f"No session {raw!r} (give its UUID or numeric id).") from None
