"""A session's photos found in the photographer's own folder: by file name in any case, checked by size or
capture time, so a same-named file from another card or body is never taken for ours.

`sync_xmp` writes beside what this finds and `read_decisions` reads beside it; both go through
`match_folder`, so the two agree on which file is which photo.
"""
from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.utils import timezone
from PIL import ExifTags, Image

from ml.imaging import parse_exif_datetime, register_heif
from sessions_app.models import Photo

from ..selectors import PhotoCard
from .naming import companion_name, original_name

NOT_IN_SESSION = "no photo of this name in the session"
NOT_THE_SAME = "same name as a photo in the session, but neither size nor capture time match"


@dataclass(frozen=True)
class Original:
    """One of a photo's files as the session knows it."""

    name: str
    size: int
    content_type: str
    taken_at: datetime | None


@dataclass(frozen=True)
class Found:
    """A file under the folder that is one of `card`'s originals."""

    card: PhotoCard
    original: Original
    path: Path


@dataclass(frozen=True)
class Missed:
    """A session file not under the folder (`path` is its name), or a file there that is no session photo."""

    path: Path | str
    reason: str
    in_session: bool  # True: the session's file wasn't found; False: the folder's file matched nothing


def originals(photo: Photo) -> list[Original]:
    files = [Original(original_name(photo), photo.bytes, photo.content_type, photo.taken_at)]
    if photo.is_pair:
        files.append(Original(companion_name(photo), photo.companion_bytes, photo.companion_content_type,
                              photo.taken_at))
    return [f for f in files if f.name]


def _index(folder: Path) -> dict[str, list[Path]]:
    """Every file under `folder` by lower-cased name; sidecars and hidden files aside, links not followed."""
    found: dict[str, list[Path]] = {}
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith(".") or name.lower().endswith(".xmp"):
                continue
            found.setdefault(name.lower(), []).append(Path(root) / name)
    return found


def _capture_time(path: Path) -> datetime | None:
    """DateTimeOriginal as the file says it (JPEG, TIFF, DNG, HEIC headers; no pixels decoded)."""
    register_heif()  # a HEIC we wrote into has a new size: its capture time tells it is ours (once per process)
    try:
        with Image.open(path) as img:
            exif = img.getexif()
            sub = exif.get_ifd(ExifTags.IFD.Exif)
            return parse_exif_datetime(sub.get(ExifTags.Base.DateTimeOriginal) or exif.get(ExifTags.Base.DateTime))
    except (OSError, ValueError, SyntaxError, struct.error, KeyError, IndexError, TypeError,
            Image.DecompressionBombError):
        return None


def _same_moment(theirs: datetime | None, ours: datetime | None) -> bool:
    if theirs is None or ours is None:
        return False
    if timezone.is_naive(theirs):  # EXIF without an offset: the studio's local time, as the upload read it
        ours = timezone.localtime(ours, timezone.get_default_timezone()).replace(tzinfo=None)
    return theirs.replace(microsecond=0) == ours.replace(microsecond=0)


def _matches(path: Path, original: Original) -> bool:
    """The same photo: same size (an untouched copy), or the same capture time (one an editor wrote into)."""
    try:
        if path.stat().st_size == original.size:
            return True
    except OSError:
        return False
    return _same_moment(_capture_time(path), original.taken_at)


def match_folder(root: Path, cards: Iterable[PhotoCard]) -> Iterator[Found | Missed]:
    """Each card's files under `root` (resolved, a folder), then every file there that is none of them."""
    index = _index(root)
    for card in cards:
        for original in originals(card.photo):
            candidates = index.pop(original.name.lower(), [])
            if not candidates:
                yield Missed(original.name, f"not found under {root.name or root}", in_session=True)
            for path in candidates:
                if path.is_symlink():
                    yield Missed(path, "a link", in_session=False)
                elif _matches(path, original):
                    yield Found(card, original, path)
                else:
                    yield Missed(path, NOT_THE_SAME, in_session=False)
    for paths in index.values():
        for path in paths:
            yield Missed(path, NOT_IN_SESSION, in_session=False)


def sidecars_of(path: Path) -> list[Path]:
    """The sidecars an editor may have left beside `path`: IMG_0001.xmp and IMG_0001.JPG.xmp, in any case."""
    wanted = {f"{path.stem}.xmp".lower(), f"{path.name}.xmp".lower()}
    try:
        names = sorted(os.listdir(path.parent))
    except OSError:
        return []
    return [path.parent / n for n in names if n.lower() in wanted and not n.startswith(".")]
