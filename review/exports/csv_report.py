"""The CSV report: one row per photo with the verdict, why, and who corrected it.

Columns worth a word (the exports page says the same):

* ``confidence``: the model's confidence in ``verdict`` (0.5-1). Empty when the photographer decided the
  photo (``corrected_by`` says who): a person's decision has no model confidence, and the model's number
  would describe ``machine_verdict``, not ``verdict``.
* ``left_eye_openness`` / ``right_eye_openness``: openness of the main face's eye, 0-1, 1 = wide open, as
  judged (ml.openness: P(closed) fused with the lid aperture, so not 1 - P(closed): "closed 100%" may read
  0.16); empty when the eye isn't visible.
* ``reason``: the sentence behind ``verdict``: the model's, or the photographer's call when they decided
  the photo ("your call: keep anyway (the model read ...)").
* ``all_eyes``: every face's eyes as on the review cards, e.g. "left closed 71%" (P(closed), the number
  in ``reason``), "right partly closed (35% open)" or "right open 96%" (openness).
* ``check``: "yes" while the photo is in the review's "check these" group (the model is unsure and
  nobody has decided it), else "no"; ``check_reasons`` says why ("; "-separated), empty otherwise.
  Appended after ``taken_at``: tools that read the columns by position keep working.
* ``outcome``: keeper / reject / check / unreadable (and no_face); ``reasons``: every reason in force,
  "; "-separated, the photographer's decision first; then one ``flag_<key>`` column per registered check
  (``python -m ml.detectors``), in the registry's order: yes / no / check, empty where the check doesn't
  apply. Appended after the columns above, so positions stay.
* ``paired_with``: a RAW + JPEG pair is one row, ``file_name`` the RAW's name, this the JPEG's; empty for
  a single photo. Then ``burst`` (the burst's best frame's file name, empty for a single frame),
  ``burst_rank`` (1 = the best) and ``subject`` (the person's number in the session). The ``flag_<key>``
  columns come last, since their number grows with the registered checks (every column before them keeps
  its position).
* The per-eye columns describe the subject face that decided the photo (ml.verdict's main face).
"""
from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from typing import TextIO

from django.utils import timezone

from classifier import selectors as classifier_selectors

from ..selectors import EyeCard, FaceCard, PhotoCard
from .naming import companion_name, original_name

COLUMNS = [
    "file_name",
    "verdict",
    "confidence",
    "machine_verdict",
    "corrected_by",
    "corrected_at",
    "faces",
    "left_eye",
    "left_eye_openness",
    "right_eye",
    "right_eye_openness",
    "all_eyes",
    "reason",
    "taken_at",
    "check",
    "check_reasons",
]
UNREADABLE = "UNREADABLE"


def columns() -> list[str]:
    """Today's header: COLUMNS, then the outcome, its reasons, the pair, and one column per registered check."""
    return [*COLUMNS, "outcome", "reasons", "paired_with", "burst", "burst_rank", "subject",
            *(f"flag_{check['key']}" for check in classifier_selectors.checks())]


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str) -> str:
    # A spreadsheet runs a cell starting with = + - @ as a formula; a file name or reason must stay text.
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _openness(eye: EyeCard | None) -> str:
    return "" if eye is None or eye.state == "not_visible" else _number(eye.openness)


def _main_face(card: PhotoCard) -> FaceCard | None:
    """The subject face that decided (ml.verdict's main face), else the first subject."""
    if card.main_face_index is not None and card.main_face_index < len(card.faces):
        return card.faces[card.main_face_index]
    subjects = [f for f in card.faces if f.is_subject]
    return (subjects or list(card.faces) or [None])[0]


def _eyes_summary(card: PhotoCard) -> str:
    parts = []
    for face in card.faces:
        eyes = ", ".join(f"{eye.side} {eye.summary}" for eye in face.eyes)
        parts.append(f"face {face.index + 1}: {eyes or 'no eyes found'}")
    return "; ".join(parts)


def card_row(card: PhotoCard) -> list[str]:
    main = _main_face(card)
    by_side = {eye.side: eye for eye in (main.eyes if main else ())}
    left, right = by_side.get("left"), by_side.get("right")
    who = card.corrected_by
    return [
        _cell(original_name(card.photo)),
        card.verdict or UNREADABLE,
        "" if card.corrected else _number(card.confidence),  # a person's decision has no model confidence
        card.machine_verdict or "",
        _cell(who.email if who is not None else ""),
        timezone.localtime(card.correction.created_at).isoformat(timespec="seconds") if card.correction else "",
        str(len(card.faces)),
        left.state if left else "",
        _openness(left),
        right.state if right else "",
        _openness(right),
        _cell(_eyes_summary(card)),
        _cell(card.verdict_reason),
        timezone.localtime(card.photo.taken_at).isoformat(timespec="seconds") if card.photo.taken_at else "",
        "yes" if card.to_check else "no",
        _cell("; ".join(card.check_reasons) if card.to_check else ""),
        card.outcome.kind if card.outcome is not None else "unreadable",
        _cell("; ".join(card.reasons)),
        _cell(companion_name(card.photo)),
        *_burst_cells(card),
        *_flag_cells(card),
    ]


def _burst_cells(card: PhotoCard) -> list[str]:
    """The burst (named by its best frame's file name; empty for a single frame), this frame's rank in it
    (1 = the best) and the subject's number in the session."""
    burst, subject = card.burst, card.subject_number
    in_burst = int(burst.get("size") or 0) > 1
    return [_cell(burst.get("best_name", "")) if in_burst else "", str(burst["rank"]) if in_burst else "",
            str(subject) if subject is not None else ""]


def _flag_cells(card: PhotoCard) -> list[str]:
    flags = {f.key: f.state for f in (card.outcome.flags if card.outcome is not None else ())}
    return [flags.get(check["key"], "") for check in classifier_selectors.checks()]


def write_csv(cards: Iterable[PhotoCard], dest: TextIO, *, progress: Callable[[int], None] | None = None) -> int:
    """Header plus one row per photo (unreadable files included, with their error as the reason)."""
    writer = csv.writer(dest)
    writer.writerow(columns())
    done = 0
    for card in cards:
        writer.writerow(card_row(card))
        done += 1
        if progress:
            progress(done)
    return done
