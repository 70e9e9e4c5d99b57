"""Lightroom filename filters: paste into Library Filter > Text > Filename > Contains.

Lightroom's "Contains" rule matches any of the comma- or space-separated words, so a list of file
stems (no extension) picks the photo and its raw twin (IMG_0001.JPG and IMG_0001.CR3) alike.
"""
from __future__ import annotations

from collections.abc import Iterable

from ..selectors import PhotoCard
from .naming import original_stem
from .zips import keepers

KEEPERS = "keepers"
REJECTS = "rejects"


def filename_filter(cards: Iterable[PhotoCard], *, which: str = KEEPERS) -> str:
    """'IMG_0001, IMG_0004, ...' for the keepers or the rejects (blinking photos), in file-name order."""
    if which not in (KEEPERS, REJECTS):
        raise ValueError(f"which must be {KEEPERS!r} or {REJECTS!r}")
    cards = list(cards)
    kept = {id(c) for c in keepers(cards)}  # the exports' rule: photos still to check are in neither list
    stems: dict[str, None] = {}
    for card in cards:
        wanted = id(card) in kept if which == KEEPERS else not (card.is_keeper or card.to_check)
        if card.unreadable or not wanted:
            continue
        stem = original_stem(card.photo).replace(",", " ").strip()
        if stem:
            stems.setdefault(stem, None)
    return ", ".join(sorted(stems, key=str.lower))
