"""Arguments the export commands share: which session, and what the XMP says (ratings, labels, keywords)."""
from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import CommandError, CommandParser

from review.exports import NAMINGS
from sessions_app.models import PhotoSession

XMP_OPTION_NAMES = ("rating_keeper", "rating_blinking", "label_keeper", "label_blinking", "label_check",
                    "xmp_naming", "flag_keywords", "flag_labels", "keep_their_rating")


def find_session(raw: str) -> PhotoSession:
    """A session by its UUID (as in /sessions/<uuid>/) or numeric id."""
    raw = raw.strip()
    try:
        if raw.isdigit():
            return PhotoSession.objects.get(pk=int(raw))
        return PhotoSession.objects.get(uuid=uuid.UUID(raw))
    except (ValueError, PhotoSession.DoesNotExist):
        raise CommandError(f"No session {raw!r} (give its UUID or numeric id).") from None


def add_xmp_arguments(parser: CommandParser) -> None:
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
    parser.add_argument("--flag-label", action="append", default=[], metavar="KEY=LABEL", dest="flag_labels",
                        help="the colour label of the photos one check rejects (repeatable; e.g. focus=Yellow; "
                             "default: --label-reject for every check)")
    parser.add_argument("--label-check", default="Purple",
                        help="xmp:Label for photos still to check (their rating follows the verdict): Red, "
                             "Yellow, Green, Blue, Purple or none for the verdict's own label (default Purple)")
    parser.add_argument("--xmp-naming", choices=list(NAMINGS), default="basename",
                        help="basename: IMG_0001.xmp (Lightroom, Capture One); full: IMG_0001.JPG.xmp (darktable)")
    parser.add_argument("--keep-their-rating", action="store_true",
                        help="where a file or sidecar already has a rating or colour label someone set, keep it "
                             "(our keywords and reasons still go in)")


def xmp_options(options: dict[str, Any]) -> dict[str, Any]:
    return {key: options[key] for key in XMP_OPTION_NAMES}
