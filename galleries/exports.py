"""The guests' picks back to the photographer: CSV, filename filters, XMP sidecars on the same originals.

Built from the session exports' own parts (review.exports): the same safe file names, the same
spreadsheet-formula guard, the same XMP packet and sidecar naming, so a pick lands on the original in
Lightroom exactly like a keeper export does. Small (names and a few hundred bytes per photo): built in
the request, streamed as a download.
"""
from __future__ import annotations

import csv
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import BinaryIO, TextIO

from review.exports.csv_report import _cell
from review.exports.naming import UniqueNames, original_name, original_stem, safe_filename
from review.exports.options import NAMING_BASENAME, ExportOptions
from review.exports.xmp import sidecar_bytes, sidecar_name
from sessions_app.models import Gallery

from .selectors import CombinedPick

CSV_COLUMNS = ["file_name", "position", "picked_by", "picks", "comments"]


def _stems(picks: Sequence[CombinedPick]) -> list[str]:
    """File stems (no extension, so IMG_0001.JPG also finds IMG_0001.CR3), once each, in gallery order."""
    out: dict[str, None] = {}
    for pick in picks:
        stem = original_stem(pick.item.photo)
        if stem:
            out.setdefault(stem, None)
    return list(out)


def filename_filters(picks: Sequence[CombinedPick]) -> dict[str, str]:
    """What to paste into each editor's search to show just the picks.

    Lightroom: Library Filter > Text > Filename > Contains, comma-separated. Capture One: the filter
    "File name" field, space-separated. macOS Finder: the search field, words joined with OR.
    A comma inside a name would split it for Lightroom, so it becomes a space there (the pieces still
    match); Finder gets names with spaces in quotes.
    """
    stems = _stems(picks)
    lightroom = ", ".join(s.replace(",", " ").strip() for s in stems)
    capture_one = " ".join(stems)
    finder = " OR ".join(f'"{s}"' if " " in s else s for s in stems)
    return {"lightroom": lightroom, "capture_one": capture_one, "finder": finder}


def write_picks_csv(picks: Sequence[CombinedPick], dest: TextIO) -> int:
    writer = csv.writer(dest)
    writer.writerow(CSV_COLUMNS)
    for pick in picks:
        comments = " | ".join(f"{s.name}: {text}" for s, text in pick.comments)
        writer.writerow([
            _cell(original_name(pick.item.photo)), str(pick.item.position + 1),
            _cell("; ".join(f"{s.name} <{s.email}>" for s in pick.guests)), str(len(pick.guests)),
            _cell(comments.replace("\r", " ").replace("\n", " ")),
        ])
    return len(picks)


def pick_options(gallery: Gallery, *, naming: str = NAMING_BASENAME) -> ExportOptions:
    """The gallery's pick label and rating as the export code's validated options (keeper = pick)."""
    return ExportOptions(rating_keeper=gallery.pick_rating, label_keeper=gallery.pick_label, xmp_naming=naming)


def pick_description(pick: CombinedPick) -> str:
    """The guests' notes on one photo (often retouch wishes) for dc:description, so they reach the editor
    beside the photo instead of only in the CSV; '' without notes."""
    notes = "; ".join(f"{s.name}: {' '.join(text.split())}" for s, text in pick.comments)
    return f"client notes: {notes}" if notes else ""


def write_picks_xmp_zip(picks: Sequence[CombinedPick], dest: BinaryIO, *, options: ExportOptions) -> int:
    """One sidecar per picked original (label and rating of a keeper in `options`, the guests' notes in
    dc:description); others get none."""
    names = UniqueNames()
    now = datetime.now(UTC)
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for pick in picks:
            name = names.claim(sidecar_name(safe_filename(pick.item.photo), naming=options.xmp_naming))
            zf.writestr(name, sidecar_bytes(rating=options.rating_keeper, label=options.label_keeper,
                                            metadata_date=now, description=pick_description(pick)))
    return len(picks)
