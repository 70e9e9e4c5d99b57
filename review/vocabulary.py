"""The review's words and keys in one table, built from the registered checks: what each key decides.

The review page embeds `key_table()` as JSON (review.js reads it; there is no switch over checks in the
script), the help lists it, and the correction endpoint takes what it sends (`flag`, `value`). Adding a
check adds its keys here by its own words (ml.detectors.Words.key / clear_key), nothing else.
"""
from __future__ import annotations

import logging
from typing import Any

from classifier import selectors as classifier_selectors
from classifier.selectors import EYES

logger = logging.getLogger(__name__)

# The whole photo, whatever its checks say ("no face" also for a face-less detail shot).
WHOLE_PHOTO_KEYS = (("n", "no_face", "no face"), ("a", "keep", "keep anyway"), ("r", "reject", "reject"))
_FACE_LEVELS = ("face", "eye")
# Keys review.js gives other jobs (moving, selecting, the loupe, undo, jumping to a group): no check may take them.
RESERVED_KEYS = frozenset("lgzcpxfu1234 []") | {key for key, _, _ in WHOLE_PHOTO_KEYS}


def key_table() -> dict[str, dict[str, Any]]:
    """Key -> {flag, value, words, face}: `face` says the key may mark the face picked with F."""
    table: dict[str, dict[str, Any]] = {}
    for check in classifier_selectors.checks():
        words, face = check["words"], check["level"] in _FACE_LEVELS
        for key, value, said in ((words["key"], "flagged", words["flag"]), (words["clear_key"], "clear", words["not_flag"])):
            if len(key) != 1:  # one character: a plain key press ("shift+w" style keys are for later)
                continue
            if key in RESERVED_KEYS:
                logger.warning("check %s: key %r is the review's own; not bound", check["key"], key)
                continue
            table[key] = {"flag": check["key"], "value": value, "words": said.lower(), "face": face}
    for key, value, said in WHOLE_PHOTO_KEYS:
        table.setdefault(key, {"flag": "", "value": value, "words": said, "face": False})
    return table


def check_titles() -> dict[str, str]:
    return {c["key"]: c["title"] for c in classifier_selectors.checks()}


def check_sliders(session) -> list[dict[str, Any]]:
    """Every check's own slider but the eyes' (the review's main slider): key, title, value."""
    values = classifier_selectors.session_strictness(session)
    return [{"key": c["key"], "title": c["title"], "value": values[c["key"]]}
            for c in classifier_selectors.checks() if c["key"] != EYES]


def key_help() -> list[tuple[str, str]]:
    """(key, what it does) for the page's key help, in the table's order."""
    return [(key.upper(), f"{action['words']}{' (or the picked face)' if action['face'] else ''}")
            for key, action in key_table().items()]
