"""EXIF: the orientation table and the capture date (DateTimeOriginal, sub-seconds, offset)."""
from __future__ import annotations

import logging
import re
import struct
from datetime import datetime, timedelta, timezone

from PIL import ExifTags, Image

log = logging.getLogger(__name__)

# EXIF orientation -> the transpose that turns the stored pixels upright (as ImageOps.exif_transpose).
ORIENTATION_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _read_exif(im: Image.Image) -> Image.Exif | None:
    try:
        return im.getexif()
    except (OSError, ValueError, SyntaxError, struct.error, KeyError, IndexError, TypeError, UnicodeDecodeError) as exc:
        log.info("ignoring unreadable EXIF: %s", exc)  # a broken EXIF block must not cost the photo
        return None


_EXIF_DATE = re.compile(r"^\s*(\d{4})[:\-](\d{2})[:\-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_EXIF_OFFSET = re.compile(r"^\s*([+-])(\d{2}):(\d{2})\s*$")


def _exif_text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if isinstance(value, (tuple, list)) and value:  # some writers store the string as a 1-tuple
        value = value[0]
    return value.strip("\x00 ") if isinstance(value, str) else None


def parse_exif_datetime(value: object, *, subsec: object = None, offset: object = None) -> datetime | None:
    """EXIF "YYYY:MM:DD HH:MM:SS" (+ optional SubSecTime and OffsetTime) -> datetime; junk -> None."""
    text = _exif_text(value)
    match = _EXIF_DATE.match(text) if text else None
    if not match:
        return None
    try:
        stamp = datetime(*(int(part) for part in match.groups()))
    except ValueError:  # "0000:00:00 00:00:00", month 13, ...
        return None
    digits = re.sub(r"\D", "", _exif_text(subsec) or "")[:6]
    if digits:
        stamp = stamp.replace(microsecond=int(digits.ljust(6, "0")))  # burst frames share the second
    off = _EXIF_OFFSET.match(_exif_text(offset) or "")
    if off:
        sign = -1 if off.group(1) == "-" else 1
        delta = timedelta(hours=int(off.group(2)), minutes=int(off.group(3)))
        if delta <= timedelta(hours=14):
            stamp = stamp.replace(tzinfo=timezone(sign * delta))
    return stamp


def _taken_at(exif: Image.Exif | None) -> datetime | None:
    if exif is None:
        return None
    try:
        sub = exif.get_ifd(ExifTags.IFD.Exif)
    except (OSError, ValueError, SyntaxError, struct.error, KeyError, IndexError, TypeError) as exc:
        log.info("ignoring unreadable EXIF sub-IFD: %s", exc)
        sub = {}
    taken = parse_exif_datetime(
        sub.get(ExifTags.Base.DateTimeOriginal),
        subsec=sub.get(ExifTags.Base.SubsecTimeOriginal),
        offset=sub.get(ExifTags.Base.OffsetTimeOriginal),
    )
    if taken is None:
        taken = parse_exif_datetime(
            exif.get(ExifTags.Base.DateTime),
            subsec=sub.get(ExifTags.Base.SubsecTime),
            offset=sub.get(ExifTags.Base.OffsetTime),
        )
    return taken
