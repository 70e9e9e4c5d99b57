"""Turn per-eye P(closed) into a photo verdict, a confidence and a reason: every verdict rule lives here.

Pure and cheap: the web app's strictness slider re-judges stored analyses with it
(`judge(analysis.to_dict()["faces"], Thresholds.from_strictness(s))`) without re-analysing.
The rules: which faces are subjects (`subject_flags`, and "no subject known -> every face counts"),
each eye's state at the thresholds (`eye_state`; not_visible stays), each face's own label, the photo's
verdict from its faces (`verdict_from_faces`, which also takes faces a person has labelled).
`judgement` gives all of it in one pass; `judge` and `verdict_of` are its short forms.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ml.types import EyeState, FaceResult, Thresholds, Verdict


def eye_state(p_closed: float, thresholds: Thresholds) -> EyeState:
    """open / partly_closed / closed for a visible eye."""
    if p_closed >= thresholds.closed:
        return EyeState.CLOSED
    if p_closed >= thresholds.partly:
        return EyeState.PARTLY_CLOSED
    return EyeState.OPEN


def subject_flags(widths: Sequence[float], thresholds: Thresholds) -> list[bool]:
    """True for faces at least `min_face_fraction` as wide as the widest face."""
    largest = max(widths, default=0.0)
    return [w >= thresholds.min_face_fraction * largest for w in widths]


@dataclass(frozen=True)
class _Eye:
    side: str
    state: EyeState
    p_closed: float


@dataclass(frozen=True)
class _Face:
    label: str
    is_subject: bool
    eyes: tuple[_Eye, ...]


@dataclass(frozen=True)
class FaceJudgement:
    """One face as judged at some thresholds."""

    is_subject: bool  # False: a background face, which never decides the verdict on its own
    verdict: Verdict  # this face alone: BLINKING or NOT_BLINKING
    eye_states: tuple[EyeState, ...]  # in the stored order of its eyes


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    confidence: float  # 0.5-1
    reason: str
    faces: tuple[FaceJudgement, ...]


def _field(obj: Any, name: str, default: Any = None) -> Any:
    # dict first: stored analyses are dicts, and isinstance(..., typing.Mapping) costs ~1 µs a call.
    if type(obj) is dict or isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _normalise(faces: Sequence[FaceResult] | Sequence[Mapping[str, Any]], thresholds: Thresholds) -> list[_Face]:
    widths = [float(_field(f, "size_px", 0) or 0) for f in faces]
    # Subject-ness follows the thresholds when sizes are known, so min_face_fraction can change too.
    flags = subject_flags(widths, thresholds) if all(w > 0 for w in widths) else [
        bool(_field(f, "is_subject", True)) for f in faces]
    if not any(flags):  # stored data without sizes or subjects: every face counts rather than none
        flags = [True] * len(flags)
    out = []
    for index, (face, is_subject) in enumerate(zip(faces, flags)):
        eyes = []
        for eye in _field(face, "eyes", ()) or ():
            stored = EyeState(_field(eye, "state", EyeState.OPEN))
            p = float(_field(eye, "p_closed", 0.0) or 0.0)
            state = EyeState.NOT_VISIBLE if stored is EyeState.NOT_VISIBLE else eye_state(p, thresholds)
            eyes.append(_Eye(side=str(_field(eye, "side", "")), state=state, p_closed=p))
        out.append(_Face(label="main face" if index == 0 else f"face {index + 1}", is_subject=is_subject,
                         eyes=tuple(eyes)))
    return out


def _describe(face: _Face, states: set[EyeState]) -> str:
    parts = [f"{eye.side} eye {eye.state.value.replace('_', ' ')} ({eye.p_closed:.2f})"
             for eye in face.eyes if eye.state in states]
    return f"{face.label}: " + ", ".join(parts)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _trigger(thresholds: Thresholds) -> set[EyeState]:
    return {EyeState.CLOSED, EyeState.PARTLY_CLOSED} if thresholds.partly_counts else {EyeState.CLOSED}


def _blinking(subjects: list[_Face], trigger: set[EyeState]) -> list[_Face]:
    return [f for f in subjects if any(e.state in trigger for e in f.eyes)]


def verdict_of(
    faces: Sequence[FaceResult] | Sequence[Mapping[str, Any]], thresholds: Thresholds = Thresholds()
) -> Verdict:
    """`judge(faces, thresholds)[0]` without building the reason: what counting groups needs (dashboard)."""
    if not faces:
        return Verdict.NO_FACE
    subjects = [f for f in _normalise(faces, thresholds) if f.is_subject]
    return Verdict.BLINKING if _blinking(subjects, _trigger(thresholds)) else Verdict.NOT_BLINKING


def verdict_from_faces(faces: Sequence[tuple[Verdict | str, bool]]) -> Verdict:
    """The photo's verdict from (face label, counts) pairs: BLINKING when any face that counts blinks.

    A face counts when it is a subject or a person labelled it (a photographer who marks a background
    face as blinking means it). No face at all is NO_FACE.
    """
    if not faces:
        return Verdict.NO_FACE
    blinking = any(Verdict(label) is Verdict.BLINKING and counts for label, counts in faces)
    return Verdict.BLINKING if blinking else Verdict.NOT_BLINKING


def judge(
    faces: Sequence[FaceResult] | Sequence[Mapping[str, Any]], thresholds: Thresholds = Thresholds()
) -> tuple[Verdict, float, str]:
    """(verdict, confidence 0.5-1, reason): `judgement` without the per-face part."""
    j = judgement(faces, thresholds)
    return j.verdict, j.confidence, j.reason


def judgement(
    faces: Sequence[FaceResult] | Sequence[Mapping[str, Any]], thresholds: Thresholds = Thresholds()
) -> Judgement:
    """The verdict, confidence and reason, and each face's own judgement, from faces as analysed or as
    stored by `to_dict()`.

    An eye state is re-derived from its P(closed) at these thresholds (not_visible stays);
    only subject faces (see `Thresholds.min_face_fraction`) decide the verdict.
    """
    if not faces:
        return Judgement(Verdict.NO_FACE, 1.0, "no face found", ())
    norm = _normalise(faces, thresholds)
    trigger = _trigger(thresholds)
    per_face = tuple(
        FaceJudgement(
            is_subject=f.is_subject,
            verdict=Verdict.BLINKING if any(e.state in trigger for e in f.eyes) else Verdict.NOT_BLINKING,
            eye_states=tuple(e.state for e in f.eyes),
        )
        for f in norm
    )
    verdict, confidence, reason = _photo_verdict(norm, thresholds)
    return Judgement(verdict, confidence, reason, per_face)


def _photo_verdict(norm: list[_Face], thresholds: Thresholds) -> tuple[Verdict, float, str]:
    subjects = [f for f in norm if f.is_subject]
    background = len(norm) - len(subjects)
    trigger = _trigger(thresholds)

    blinking = _blinking(subjects, trigger)
    if blinking:
        reason = "; ".join(_describe(f, {EyeState.CLOSED, EyeState.PARTLY_CLOSED}) for f in blinking)
        # How far the most closed triggering eye is past its cut-off, scaled to 0.5-1.
        margins = []
        for face in blinking:
            for eye in face.eyes:
                if eye.state in trigger:
                    cut = thresholds.closed if eye.state is EyeState.CLOSED else thresholds.partly
                    margins.append((eye.p_closed - cut) / max(1.0 - cut, 1e-6))
        confidence = 0.5 + 0.5 * max(0.0, min(1.0, max(margins)))
        return Verdict.BLINKING, round(confidence, 3), reason

    visible = [e for f in subjects for e in f.eyes if e.state is not EyeState.NOT_VISIBLE]
    hidden = sum(1 for f in subjects for e in f.eyes if e.state is EyeState.NOT_VISIBLE)
    head = _plural(len(subjects), "face")
    if not visible:
        reason = f"{subjects[0].label}: eyes not visible" if len(subjects) == 1 else f"{head}, no eyes visible"
        confidence = 0.5
    else:
        reason = f"{head}, {'all visible eyes' if hidden else 'all eyes'} open"
        partly = [f for f in subjects if any(e.state is EyeState.PARTLY_CLOSED for e in f.eyes)]
        if partly:
            reason = f"{head}, no eye closed; " + "; ".join(_describe(f, {EyeState.PARTLY_CLOSED}) for f in partly)
        if hidden:
            reason += f" ({_plural(hidden, 'eye')} not visible)"
        cut = thresholds.partly if thresholds.partly_counts else thresholds.closed
        worst = max(e.p_closed for e in visible)
        confidence = 0.5 + 0.5 * max(0.0, min(1.0, (cut - worst) / max(cut, 1e-6)))
    if background:
        reason += f"; {_plural(background, 'background face')} ignored"
    return Verdict.NOT_BLINKING, round(confidence, 3), reason
