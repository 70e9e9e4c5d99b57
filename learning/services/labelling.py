"""The labelling rule: which eyes one correction labels, and how (pure functions, no database, no ml).

Written down in learning/services/training_examples.py's docstring and tested in
tests/classifier/test_training_examples.py. Also: the failure tag of an example and the frozen share by session.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.conf import settings

CLOSED, OPEN = "closed", "open"  # TrainingExample.Label values
RULE_KEEP_PHOTO = "keep photo: every subject eye open"
RULE_KEEP_FACE = "keep face: its eyes open"
RULE_PICKED = "blinking: the eye the photographer picked"
RULE_MOST_CLOSED = "blinking: the eye the model saw as most closed"


# --- The rule (pure) -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EyeLabel:
    face_index: int
    side: str
    label: str  # closed / open
    rule: str
    p_closed: float | None


def _visible_eyes(face: dict) -> list[dict]:
    return [e for e in face.get("eyes") or [] if isinstance(e, dict) and e.get("state") != "not_visible"
            and e.get("side") in ("left", "right")]


def _most_closed(candidates: list[tuple[int, dict]]) -> tuple[int, dict] | None:
    if not candidates:
        return None
    return max(candidates, key=lambda fe: float(fe[1].get("p_closed") or 0.0))


def eyes_to_label(*, label: str, face_index: int | None, faces: list[dict], subjects: list[bool],
                  picks: dict[int, str]) -> tuple[list[EyeLabel], str]:
    """The eyes one correction labels, and '' or why it labels none. `picks`: face index -> picked side."""
    def p_of(eye: dict) -> float | None:
        try:
            return float(eye.get("p_closed"))
        except (TypeError, ValueError):
            return None

    if label == "NO_FACE":
        return [], "marked no face"
    if face_index is not None and not 0 <= face_index < len(faces):
        return [], "the face is not in the stored prediction"
    targets = [face_index] if face_index is not None else [i for i, s in enumerate(subjects) if s]
    if label == "NOT_BLINKING":
        rule = RULE_KEEP_FACE if face_index is not None else RULE_KEEP_PHOTO
        out = [EyeLabel(i, e["side"], OPEN, rule, p_of(e)) for i in targets for e in _visible_eyes(faces[i])]
        return out, "" if out else "no visible eye"
    if not label:  # a whole-photo keep / reject (or another check's flag): it doesn't say why
        return [], "a decision that says nothing about eyes"
    if label != "BLINKING":
        return [], f"unknown label {label}"
    picked = []
    for i in targets:
        side = picks.get(i)
        eye = next((e for e in _visible_eyes(faces[i]) if e["side"] == side), None) if side else None
        if eye is not None:
            picked.append(EyeLabel(i, side, CLOSED, RULE_PICKED, p_of(eye)))
    if picked:
        return picked, ""
    best = _most_closed([(i, e) for i in targets for e in _visible_eyes(faces[i])])
    if best is None:
        return [], "blinking, but no visible eye to label"
    i, eye = best
    return [EyeLabel(i, eye["side"], CLOSED, RULE_MOST_CLOSED, p_of(eye))], ""


def failure_tag(label: str, p_closed: float | None) -> str:
    """What kind of case this is for the model: missed_blink, false_blink, borderline or confirmed."""
    if p_closed is None:
        return "unknown"
    said_closed = p_closed >= 0.5
    if label == CLOSED and not said_closed:
        return "missed_blink"
    if label == OPEN and said_closed:
        return "false_blink"
    return "borderline" if 0.3 <= p_closed < 0.7 else "confirmed"


def session_is_frozen(session_uuid, *, percent: int | None = None) -> bool:
    """Deterministic: the same session is always on the same side, on every machine, in every run."""
    percent = settings.EYESPY_TRAINING_FROZEN_PERCENT if percent is None else percent
    digest = hashlib.sha256(f"eyespy-frozen:{session_uuid}".encode()).hexdigest()
    return int(digest[:8], 16) % 100 < percent
