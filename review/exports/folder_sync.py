"""Sync to a folder: Eye Spy's XMP beside (or inside) the photographer's own copies of a session's originals.

`xmp_sync` walks DIR (recursively), matches each judged photo's file(s) by name, ignoring case, and checks a
match by size or capture time, so a same-named file from another card or body is never touched. A match gets
its sidecar written or merged (`xmp_packet.merge`: their keywords, captions and develop settings stay),
or with `embed` the XMP merged into the file itself where it is a JPEG, TIFF or DNG (`xmp_embed`); RAWs and
HEIC always get a sidecar. Both files of a RAW + JPEG pair are found. Every file written is replaced
atomically (written beside it, then renamed). Each file gets one line: what changed, what would change
(`dry_run`), or why it was left alone.
"""
from __future__ import annotations

import os
import struct
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.utils import timezone
from PIL import ExifTags, Image

from ml.imaging import parse_exif_datetime
from sessions_app.models import Photo, PhotoSession

from .. import selectors as review_selectors
from ..selectors import PhotoCard
from .embedded_zip import EMBEDDABLE_TYPES
from .naming import companion_name, original_name
from .options import ExportError, ExportOptions
from .xmp import photo_fields, sidecar_name
from .xmp_embed import read_embedded, sniff, write_embedded
from .xmp_packet import MAX_PACKET_BYTES, XmpError, XmpFields, merge

CREATED, UPDATED, UNCHANGED, SKIPPED, FAILED = "created", "updated", "unchanged", "not touched", "failed"
SHARED = "covered"  # a pair's second file whose sidecar (IMG_0001.xmp) the first one already got


@dataclass(frozen=True)
class SyncLine:
    path: str  # relative to the folder synced
    action: str  # one of CREATED, UPDATED, UNCHANGED, SKIPPED, FAILED, SHARED or "would be …" in a dry run
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.path}: {self.action}" + (f" ({self.detail})" if self.detail else "")


@dataclass(frozen=True)
class _Original:
    """One of a photo's files as the session knows it."""

    name: str
    size: int
    content_type: str
    taken_at: datetime | None


def _originals(photo: Photo) -> list[_Original]:
    files = [_Original(original_name(photo), photo.bytes, photo.content_type, photo.taken_at)]
    if photo.is_pair:
        files.append(_Original(companion_name(photo), photo.companion_bytes, photo.companion_content_type,
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
    """DateTimeOriginal as the file says it (JPEG, TIFF, DNG headers; no pixels decoded)."""
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


def _matches(path: Path, original: _Original) -> bool:
    """The same photo: same size (an untouched copy), or the same capture time (one an editor wrote into)."""
    try:
        if path.stat().st_size == original.size:
            return True
    except OSError:
        return False
    return _same_moment(_capture_time(path), original.taken_at)


def _replace(path: Path, data_writer) -> None:
    """Write through a temporary file beside `path`, then rename over it: never a half-written file."""
    fd, tmp = tempfile.mkstemp(prefix=".eyespy-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            data_writer(out)
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


class _Sync:
    def __init__(self, folder: Path, options: ExportOptions, *, embed: bool, dry_run: bool) -> None:
        self.folder, self.options, self.embed, self.dry_run = folder, options, embed, dry_run
        self.lines: list[SyncLine] = []
        self.sidecars_done: set[Path] = set()

    def rel(self, path: Path) -> str:
        return str(path.relative_to(self.folder))

    def say(self, path: Path | str, action: str, detail: str = "") -> None:
        self.lines.append(SyncLine(path if isinstance(path, str) else self.rel(path), action, detail))

    def write(self, path: Path, original: _Original, fields: XmpFields) -> None:
        target = path  # the file a failure is reported against: the photo, or its sidecar
        try:
            if self.embed and original.content_type in EMBEDDABLE_TYPES:
                with path.open("rb") as fh:
                    if sniff(fh.read(4)) is not None:
                        return self._into_file(path, fields)
            target = path.with_name(sidecar_name(path.name, naming=self.options.xmp_naming))
            self._sidecar(path, target, fields)
        except XmpError as exc:
            self.say(target, FAILED, exc.reason)
        except OSError as exc:
            self.say(target, FAILED, exc.strerror or type(exc).__name__)

    def _into_file(self, path: Path, fields: XmpFields) -> None:
        with path.open("rb") as src:
            packet, changes = merge(read_embedded(src), fields, keep_their_rating=self.options.keep_their_rating)
            if not changes:
                return self.say(path, UNCHANGED)
            if not self.dry_run:
                _replace(path, lambda out: write_embedded(src, out, packet))
        self.say(path, ("would be updated" if self.dry_run else UPDATED), "XMP inside: " + ", ".join(changes))

    def _sidecar(self, path: Path, sidecar: Path, fields: XmpFields) -> None:
        if sidecar in self.sidecars_done:
            return self.say(path, SHARED, f"by {sidecar.name}, its pair's sidecar")
        self.sidecars_done.add(sidecar)
        existing = None
        if sidecar.exists():
            if sidecar.is_symlink() or not sidecar.is_file():
                return self.say(sidecar, SKIPPED, "not a plain file")
            if sidecar.stat().st_size > MAX_PACKET_BYTES:
                raise XmpError("the sidecar is too big to be a real one")
            existing = sidecar.read_bytes()
        packet, changes = merge(existing, fields, keep_their_rating=self.options.keep_their_rating)
        if not changes:
            return self.say(sidecar, UNCHANGED)
        action = CREATED if existing is None else UPDATED
        if self.dry_run:
            action = f"would be {action}"
        else:
            _replace(sidecar, lambda out: out.write(packet))
        self.say(sidecar, action, ", ".join(changes))


def xmp_sync(*, session: PhotoSession, folder: str | os.PathLike, embed: bool = False, dry_run: bool = False,
             options: dict | None = None) -> list[SyncLine]:
    """Sidecars (or XMP inside, with `embed`) for the session's judged photos found under `folder`.
    Returns one line per file looked at. Raises ExportError only for a folder that isn't one."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise ExportError(f"{root} is not a folder")
    root = root.resolve()
    opts = ExportOptions.from_dict(options)
    sync = _Sync(root, opts, embed=embed, dry_run=dry_run)
    index = _index(root)
    cards: list[PhotoCard] = [c for c in review_selectors.session_cards(session=session) if not c.unreadable]
    for card in cards:
        fields = photo_fields(card, opts)
        for original in _originals(card.photo):
            candidates = index.pop(original.name.lower(), [])
            if not candidates:
                sync.say(original.name, SKIPPED, f"not found under {root.name or root}")
            for path in candidates:
                if path.is_symlink():
                    sync.say(path, SKIPPED, "a link")
                elif _matches(path, original):
                    sync.write(path, original, fields)
                else:
                    sync.say(path, SKIPPED, "same name as a photo in the session, but neither size nor capture "
                                            "time match")
    for paths in index.values():
        for path in paths:
            sync.say(path, SKIPPED, "no photo of this name in the session")
    return sync.lines
