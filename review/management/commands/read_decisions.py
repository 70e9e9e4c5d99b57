"""Read the keep / reject decisions the photographer made in their editor back into Eye Spy."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from review.services import DecisionRules, EditorDecisionsError, editor_decisions_read
from review.services.editor_decisions import FAILED

from ..arguments import find_session


class Command(BaseCommand):
    help = (
        "Read the ratings, colour labels and reject flags you set in Lightroom, Capture One or darktable for "
        "SESSION_ID's photos, from the sidecars (IMG_0001.xmp, IMG_0001.JPG.xmp) and the XMP inside JPEG, TIFF, "
        "DNG and HEIC files under DIR (searched recursively; files matched by name in any case, checked by size or "
        "capture time, like sync_xmp), and record each as your decision on the whole photo: reject = rating -1 "
        "or the reject label, keep = the keep rating or more, or the keep label. What Eye Spy wrote itself is "
        "ignored. All of it is one step for the session's Undo. A keep also teaches the eye model that the "
        "subjects' eyes are open, and a reject of a photo Eye Spy saw blinking confirms that blink (a reject says "
        "nothing about the eyes otherwise); --no-eye-labels turns that off. One line per file, a summary last."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("session_id", metavar="SESSION_ID", help="session UUID or numeric id")
        parser.add_argument("--from", required=True, metavar="DIR", dest="folder",
                            help="the folder holding your copies of the originals and their sidecars")
        parser.add_argument("--dry-run", action="store_true", help="only list what would be recorded")
        parser.add_argument("--reject-label", default="Red",
                            help="the colour label that means reject: Red, Yellow, Green, Blue, Purple or none "
                                 "(default Red)")
        parser.add_argument("--keep-label", default="Green",
                            help="the colour label that means keep: Red, Yellow, Green, Blue, Purple or none "
                                 "(default Green)")
        parser.add_argument("--keep-rating", type=int, default=1, metavar="N",
                            help="a rating of N stars or more means keep (1 to 5, default 1)")
        parser.add_argument("--no-eye-labels", action="store_false", dest="eye_labels",
                            help="record the whole-photo decisions only: teach the eye model nothing from them")

    def handle(self, *args, **options) -> None:
        session = find_session(options["session_id"])
        try:
            rules = DecisionRules(keep_rating=options["keep_rating"], keep_label=options["keep_label"],
                                  reject_label=options["reject_label"], eyes_from_decisions=options["eye_labels"])
            report = editor_decisions_read(session=session, folder=options["folder"], rules=rules,
                                           dry_run=options["dry_run"])
        except EditorDecisionsError as exc:
            raise CommandError(exc.reason) from None
        for line in report.lines:
            (self.stderr if line.action == FAILED else self.stdout).write(str(line))
        self.stdout.write(report.summary)
