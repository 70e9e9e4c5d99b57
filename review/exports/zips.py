"""ZIPs of originals, streamed: each file is copied from storage in chunks, never held whole in memory.
A RAW + JPEG pair puts both its files in the ZIP, byte for byte (IMG_0001.CR3 and IMG_0001.JPG).

JPEG/HEIC/PNG originals are already compressed, so entries are STORED (no CPU spent squeezing nothing out).
`force_zip64` on every entry keeps files over 4 GB and sessions over 65k entries valid.
"""
from __future__ import annotations

import shutil
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import BinaryIO

from django.utils import timezone

from classifier import selectors as classifier_selectors

from ..selectors import PhotoCard
from .naming import UniqueNames, safe_companion_filename, safe_filename
from .options import CHECK_AS_KEEPERS, ExportError, ExportOptions

CHUNK = 1024 * 1024
FOLDER_BLINKING = "BLINKING"
FOLDER_NOT_BLINKING = "NOT_BLINKING"
FOLDER_CHECK = "CHECK"  # the review's "check these": the machine is unsure and nobody has decided yet


def zip_time(card: PhotoCard) -> tuple[int, int, int, int, int, int]:
    # ZIP timestamps are local wall-clock times without a zone and can't predate 1980.
    moment = card.photo.taken_at or card.photo.created_at
    local = timezone.localtime(moment) if timezone.is_aware(moment) else moment
    return max(local.timetuple()[:6], (1980, 1, 1, 0, 0, 0))


def _add_original(zf: zipfile.ZipFile, card: PhotoCard, arcname: str, *, companion: bool = False) -> None:
    info = zipfile.ZipInfo(arcname, date_time=zip_time(card))
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    photo = card.photo
    field, name = (photo.companion, photo.companion_filename) if companion else (photo.original, photo.original_filename)
    try:
        src = field.open("rb")
    except FileNotFoundError:
        raise ExportError(f"the original of {name} is missing from storage") from None
    with src, zf.open(info, "w", force_zip64=True) as dst:
        shutil.copyfileobj(src, dst, CHUNK)


def _write(entries: Iterable[tuple[PhotoCard, str, str]], dest: BinaryIO, progress: Callable[[int], None] | None) -> int:
    """Each entry is (card, the original's name in the ZIP, the pair's JPEG's name or ''): a RAW + JPEG pair
    gives both files, byte for byte. Counts photos, not files."""
    done = 0
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for card, arcname, companion_arcname in entries:
            _add_original(zf, card, arcname)
            if companion_arcname:
                _add_original(zf, card, companion_arcname, companion=True)
            done += 1
            if progress:
                progress(done)
    return done


def _claim_both(names: UniqueNames, card: PhotoCard, folder: str = "") -> tuple[str, str]:
    """ZIP names for a photo's file(s); a pair's two names differ by their extensions already."""
    original = folder + names.claim(safe_filename(card.photo))
    twin = safe_companion_filename(card.photo)
    return original, (folder + names.claim(twin)) if twin else ""


def keepers(cards: Iterable[PhotoCard], options: ExportOptions | None = None) -> list[PhotoCard]:
    """The one rule for "keepers" in every export and a gallery's "start from keepers": not rejected, and a
    photo still to check only when the export counts those as keepers (`options.check_photos`); with
    `best_of_bursts`, one frame per burst (the best-ranked keeper) and every single frame."""
    options = options or ExportOptions()
    chosen = [c for c in cards if c.is_keeper and (not c.to_check or options.check_photos == CHECK_AS_KEEPERS)]
    if not options.best_of_bursts:
        return chosen
    best: dict[str, PhotoCard] = {}
    for card in chosen:
        if card.burst_id and (card.burst_id not in best or card.burst["rank"] < best[card.burst_id].burst["rank"]):
            best[card.burst_id] = card
    return [c for c in chosen if not c.burst_id or best[c.burst_id] is c]


def unresolved(cards: Iterable[PhotoCard]) -> int:
    """Photos still in "Check these": what the exports page and the CLI warn about."""
    return sum(1 for c in cards if c.to_check)


def write_keepers_zip(
    cards: Iterable[PhotoCard], dest: BinaryIO, *, progress: Callable[[int], None] | None = None,
    options: ExportOptions | None = None,
) -> int:
    """Originals of every keeper (`keepers`: not rejected, face-less shots included) at the ZIP's top level."""
    names = UniqueNames()
    return _write(((c, *_claim_both(names, c)) for c in keepers(cards, options)), dest, progress)


def reject_folders() -> dict[str, str]:
    """Check key -> the folder its rejects go in (the check's words: BLINKING for the eyes)."""
    return {c["key"]: c["words"].get("folder") or c["key"].upper() for c in classifier_selectors.checks()}


def folder_of(card: PhotoCard, folders: dict[str, str]) -> str:
    """CHECK/ while still to check (whatever the machine's verdict: the folder is the photographer's to-do
    list), a rejecting check's folder (the first in the registry's order that rejects it), else keepers."""
    if card.to_check:
        return FOLDER_CHECK
    if card.is_keeper:
        return FOLDER_NOT_BLINKING
    rejected_by = card.outcome.rejected_by if card.outcome is not None else ()
    return folders.get(rejected_by[0], FOLDER_BLINKING) if rejected_by else FOLDER_BLINKING


def write_folders_zip(
    cards: Iterable[PhotoCard], dest: BinaryIO, *, progress: Callable[[int], None] | None = None
) -> int:
    """Every judged original, in CHECK/, a folder per rejecting check (BLINKING/ for the eyes) or, for
    keepers, NOT_BLINKING/ (`folder_of`). Unreadable files are left out."""
    folders, names = reject_folders(), defaultdict(UniqueNames)

    def entries():
        for card in cards:
            if card.unreadable:
                continue
            folder = folder_of(card, folders)
            yield card, *_claim_both(names[folder], card, f"{folder}/")

    return _write(entries(), dest, progress)
