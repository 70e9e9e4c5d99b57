"""Sync to a folder: Eye Spy's XMP beside (or inside) the photographer's own copies of a session's originals.

`xmp_sync` walks DIR (recursively) and finds each judged photo's file(s) through `folder_match` (by name in any
case, checked by size or capture time: a same-named file from another card or body is never touched). A match gets
its sidecar written or merged (`xmp_packet.merge`: their keywords, captions and develop settings stay),
or with `embed` the XMP merged into the file itself where it is a JPEG, TIFF, DNG or HEIC (`xmp_embed`); RAWs
always get a sidecar. Both files of a RAW + JPEG pair are found. Every file written is replaced
atomically (written beside it, then renamed). Each file gets one line: what changed, what would change
(`dry_run`), or why it was left alone.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sessions_app.models import PhotoSession

from .. import selectors as review_selectors
from ..selectors import PhotoCard
from .embedded_zip import EMBEDDABLE_TYPES
from .folder_match import Missed, Original, match_folder
from .options import ExportError, ExportOptions
from .xmp import photo_fields, sidecar_name
from .xmp_embed import HEAD_BYTES, read_embedded, sniff, write_embedded
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

    def write(self, path: Path, original: Original, fields: XmpFields) -> None:
        target = path  # the file a failure is reported against: the photo, or its sidecar
        try:
            if self.embed and original.content_type in EMBEDDABLE_TYPES:
                with path.open("rb") as fh:
                    if sniff(fh.read(HEAD_BYTES)) is not None:
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
    cards: list[PhotoCard] = [c for c in review_selectors.session_cards(session=session) if not c.unreadable]
    fields: dict[int, XmpFields] = {}
    for match in match_folder(root, cards):
        if isinstance(match, Missed):
            sync.say(match.path, SKIPPED, match.reason)
            continue
        photo_id = match.card.photo.pk
        if photo_id not in fields:
            fields[photo_id] = photo_fields(match.card, opts)
        sync.write(match.path, match.original, fields[photo_id])
    return sync.lines
