"""Turn per-eye openness and P(closed) into a photo verdict, a confidence, a reason and the check flag:
every verdict rule lives here.

Pure and cheap: the web app's strictness slider re-judges stored analyses with it
(`judge(analysis.to_dict()["faces"], Thresholds.from_strictness(s))`) without re-analysing.
The rules: which faces are subjects (`subject_flags`, and "no subject known -> every face counts"),
each eye's state at the thresholds (`eye_state`; not_visible stays), each face's own label, the photo's
verdict from its faces (`verdict_from_faces`, which also takes faces a person has labelled), and whether
the photo belongs in the "check these" group (`check_reasons`).
`judgement` gives all of it in one pass; `judge` and `verdict_of` are its short forms.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping, Sequence

from ml.types import EyeState, FaceResult, Thresholds, Verdict

# The check group (chosen by grouped cross-validation, see ml/models/MODEL_CARD.md).
CHECK_BAND = 0.20  # the most closed eye within this of the deciding cut-off (on 1 - openness), at most
MIN_FACE_SCORE = 0.6  # detector confidence below this: the face box is doubtful
MIN_PRESENCE = 0.5  # landmark face-presence below this: doubtful too
MIN_EYE_PX = 8.0  # a visible eye narrower than this (px of real detail) is too small to be sure
NEAR_CUT = "near the cut-off"
EYES_HIDDEN = "eyes not visible"
FACE_DOUBTFUL = "face box doubtful"
EYES_TINY = "eyes too small"


def near_cut(closedness: float, cut: float) -> bool:
    """Is this closedness close enough to `cut` that a person should look? The band is CHECK_BAND, narrowed
    to half the room on each side of a cut near either end of the scale: a strict slider (cut 0.12) must not
    send every wide-open eye to the check group. At the default cut (0.5) the band is CHECK_BAND."""
    return abs(closedness - cut) < min(CHECK_BAND, cut / 2, (1 - cut) / 2)


def eye_state(closedness: float, thresholds: Thresholds) -> EyeState:
    """open / partly_closed / closed for a visible eye from its closedness (1 - openness)."""
    if closedness >= thresholds.closed:
        return EyeState.CLOSED
    if closedness >= thresholds.partly:
        return EyeState.PARTLY_CLOSED
    return EyeState.OPEN


def closedness(eye: Any) -> float:
    """1 - openness, the scale states are judged on (== P(closed) for analyses stored before schema 3)."""
    value = _field(eye, "openness")
    if value is None:
        return float(_field(eye, "p_closed", 0.0) or 0.0)
    return 1.0 - float(value)


def subject_flags(widths: Sequence[float], thresholds: Thresholds) -> list[bool]:
    """True for faces at least `min_face_fraction` as wide as the widest face."""
    largest = max(widths, default=0.0)
    return [w >= thresholds.min_face_fraction * largest for w in widths]


@dataclass(frozen=True)
class _Eye:
    side: str
    state: EyeState
    p_closed: float
    closedness: float
    width_px: float | None = None
    opening: float = 0.0  # `opening(eye)`: for a subject's own eyes


@dataclass(frozen=True)
class _Face:
    label: str
    is_subject: bool
    eyes: tuple[_Eye, ...]
    score: float | None = None
    presence: float | None = None


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
    check_reasons: tuple[str, ...] = ()  # why the photo belongs in the "check these" group; () = it does not
    # The subject face that decided: the blinking subject with the most closed eye, else the subject whose
    # eye came nearest to closing, else the first subject. The one meaning of "main face" (CSV, cards).
    face_index: int | None = None

    @property
    def needs_check(self) -> bool:
        return bool(self.check_reasons)


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
            c = closedness(eye)
            state = EyeState.NOT_VISIBLE if stored is EyeState.NOT_VISIBLE else eye_state(c, thresholds)
            width = _field(eye, "width_px")
            eyes.append(_Eye(side=str(_field(eye, "side", "")), state=state, p_closed=p, closedness=c,
                             width_px=float(width) if width is not None else None, opening=opening(eye)))
        score, presence = _field(face, "score"), _field(face, "presence")
        out.append(_Face(label="main face" if index == 0 else f"face {index + 1}", is_subject=is_subject,
                         eyes=tuple(eyes), score=float(score) if score is not None else None,
                         presence=float(presence) if presence is not None else None))
    return out


def _describe_eye(eye: _Eye) -> str:
    # A closed eye shows its calibrated P(closed); a partly closed one how open it still is.
    if eye.state is EyeState.PARTLY_CLOSED:
        return f"{eye.side} eye partly closed ({round(100 * (1 - eye.closedness))}% open)"
    return f"{eye.side} eye {eye.state.value.replace('_', ' ')} ({eye.p_closed:.2f})"


def _describe(face: _Face, states: set[EyeState]) -> str:
    return f"{face.label}: " + ", ".join(_describe_eye(eye) for eye in face.eyes if eye.state in states)


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
    return Judgement(verdict, confidence, reason, per_face, tuple(_check(norm, thresholds)),
                     face_index=_deciding_face(norm, trigger))


def _deciding_face(norm: list[_Face], trigger: set[EyeState]) -> int | None:
    subjects = [(i, f) for i, f in enumerate(norm) if f.is_subject]
    pool = [(i, f) for i, f in subjects if any(e.state in trigger for e in f.eyes)] or subjects
    if not pool:
        return None

    def most_closed(face: _Face) -> float:
        return max((e.closedness for e in face.eyes if e.state is not EyeState.NOT_VISIBLE), default=-1.0)

    return max(pool, key=lambda item: (most_closed(item[1]), -item[0]))[0]


def check_reasons(faces: Sequence[FaceResult] | Sequence[Mapping[str, Any]],
                  thresholds: Thresholds = Thresholds()) -> list[str]:
    """Why the photo's verdict needs a human look ([] = it does not); `judgement(...).check_reasons`.

    Over the subject faces: the most closed visible eye near the cut-off that decides the verdict
    (`near_cut`: "near the cut-off"); a subject face with no visible eye ("eyes not visible": turned
    away, sunglasses, a mask); a detector / landmark score under MIN_FACE_SCORE / MIN_PRESENCE ("face
    box doubtful"); a visible eye narrower than MIN_EYE_PX ("eyes too small"). No face: [] (NO_FACE is
    a group of its own).
    """
    return list(judgement(faces, thresholds).check_reasons) if faces else []


def _check(norm: list[_Face], thresholds: Thresholds) -> list[str]:
    reasons: list[str] = []
    worst: tuple[float, str] | None = None
    for face in norm:
        if not face.is_subject:
            continue
        visible = [e for e in face.eyes if e.state is not EyeState.NOT_VISIBLE]
        # 0 or missing = not measured (analyses stored before schema 2 load with score 0.0).
        if (face.score and face.score < MIN_FACE_SCORE) or (face.presence is not None and face.presence < MIN_PRESENCE):
            reasons.append(f"{FACE_DOUBTFUL} ({face.label})")
        if face.eyes and not visible:
            reasons.append(f"{EYES_HIDDEN} ({face.label})")
        small = [e.width_px for e in visible if e.width_px is not None and e.width_px < MIN_EYE_PX]
        if small:
            reasons.append(f"{EYES_TINY} ({face.label}, {min(small):.0f} px)")
        for eye in visible:
            if worst is None or eye.closedness > worst[0]:
                worst = (eye.closedness, f"{face.label} {eye.side} eye")
    # The verdict flips where the most closed eye crosses the cut-off that decides it.
    cut = thresholds.partly if thresholds.partly_counts else thresholds.closed
    if worst is not None and near_cut(worst[0], cut):
        reasons.append(f"{NEAR_CUT} ({worst[1]} {round(100 * (1 - worst[0]))}% open)")
    return reasons


def _photo_verdict(norm: list[_Face], thresholds: Thresholds) -> tuple[Verdict, float, str]:
    subjects = [f for f in norm if f.is_subject]
    background = len(norm) - len(subjects)
    trigger = _trigger(thresholds)

    blinking = _blinking(subjects, trigger)
    if blinking:
        reason = "; ".join(_describe(f, {EyeState.CLOSED, EyeState.PARTLY_CLOSED}) for f in blinking)
        confidence = _confidence(subjects, blinking=True, thresholds=thresholds)
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
        confidence = _confidence(subjects, blinking=False, thresholds=thresholds)
    if background:
        reason += f"; {_plural(background, 'background face')} ignored"
    return Verdict.NOT_BLINKING, round(confidence, 3), reason


def _confidence(subjects: list[_Face], *, blinking: bool, thresholds: Thresholds) -> float:
    """0.5-1. At the default kind of verdict (closed eyes decide) it is the calibrated P(closed) of the
    most closed visible eye — P that the photo is a blink — or 1 minus it; measured calibrated on faces
    in MODEL_CARD.md. When partly closed eyes count, it is the distance of the most closed eye from the
    partly cut-off, scaled to 0.5-1 (no calibrated probability exists for "partly closed")."""
    visible = [e for f in subjects for e in f.eyes if e.state is not EyeState.NOT_VISIBLE]
    if not visible:
        return 0.5
    if thresholds.partly_counts:
        c, cut = max(e.closedness for e in visible), thresholds.partly
        margin = (c - cut) / max(1.0 - cut, 1e-6) if blinking else (cut - c) / max(cut, 1e-6)
        return 0.5 + 0.5 * max(0.0, min(1.0, margin))
    p = max(e.p_closed for e in visible)
    return max(0.5, p if blinking else 1.0 - p)


# --- a subject's own eyes (the session step ml.detectors.subject_eyes gives each face its usual opening) -----
RELATIVE_CUT = 0.80  # an eye under this share of its subject's usual opening is partly closed (bench/bursts_bench.py)
RELATIVE_BAND = 0.10  # within this above the cut: a person should look
RELATIVE_REJECTS_FROM = 0.35  # strictness below this: a relative finding only sends the photo to check


@dataclass(frozen=True)
class RelativeEyes:
    """The subject eye least open for its own subject: its share of their usual opening, and what it means."""

    face_index: int
    side: str
    share: float  # openness / the subject's usual openness of that eye
    name: str  # "Subject 1"
    flagged: bool  # partly closed for this subject, and the strictness lets that reject
    near: bool  # within the check band (or under the cut at a lenient strictness)
    cut: float = RELATIVE_CUT  # the share cut at the strictness it was judged at

    @property
    def sentence(self) -> str:
        return f"eyes {round(100 * self.share)} % of {self.name}'s usual opening in this session"


def opening(eye: Any) -> float:
    """How open an eye is, for comparing with the same subject's other frames: openness x the lid ratio.
    Openness (the CNN fused with the lids) saturates near 1 for any open eye, so a squint still reads ~0.9;
    the lid ratio (lid height / width) keeps falling as the lids narrow. Openness alone when no lid ratio."""
    lid = _field(eye, "lid_ratio")
    return (1.0 - closedness(eye)) * (float(lid) if lid else 1.0)


def relative_cut(strictness: float) -> float:
    """The share cut at a strictness: RELATIVE_CUT - 0.1 at 0 (lenient) .. RELATIVE_CUT at 0.5 .. + 0.1 at 1."""
    s = min(1.0, max(0.0, float(strictness)))
    return RELATIVE_CUT + (s - 0.5) * 0.2


def relative_eyes(faces: Sequence[Mapping[str, Any]], usual: Sequence[Mapping[str, Any] | None],
                  strictness: float = 0.5, thresholds: Thresholds | None = None) -> RelativeEyes | None:
    """The subject eye least open compared with its subject's usual opening (`usual[i]`: {"name", "usual":
    {side: `opening`}} for face i, or None before the subject has enough frames), judged at `strictness`.
    Eyes the photo-alone rule already calls closed or hidden are left to it; None when no eye compares."""
    thresholds = thresholds or Thresholds.from_strictness(strictness)
    norm = _normalise(faces, thresholds)
    worst: tuple[float, int, str, str] | None = None
    for index, (face, known) in enumerate(zip(norm, usual)):
        if not face.is_subject or not known:
            continue
        for eye in face.eyes:
            ref = (known.get("usual") or {}).get(eye.side)
            if eye.state in (EyeState.NOT_VISIBLE, EyeState.CLOSED) or not ref:
                continue
            share = eye.opening / float(ref)
            if worst is None or share < worst[0]:
                worst = (share, index, eye.side, str(known.get("name") or f"Subject {known.get('subject')}"))
    if worst is None:
        return None
    share, index, side, name = worst
    cut = relative_cut(strictness)
    under = share < cut
    rejects = strictness >= RELATIVE_REJECTS_FROM
    return RelativeEyes(face_index=index, side=side, share=round(share, 3), name=name, flagged=under and rejects,
                        near=(under and not rejects) or cut <= share < cut + RELATIVE_BAND, cut=round(cut, 4))


def in_session(judged: Judgement, faces: Sequence[FaceResult] | Sequence[Mapping[str, Any]],
               usual: Sequence[Mapping[str, Any] | None] | None, strictness: float,
               thresholds: Thresholds | None = None) -> Judgement:
    """The photo-alone judgement with the session's own rule on top (the subject's usual eye opening,
    `usual[i]` per face from the subject-eyes session step): a photo kept alone is flagged, or sent to check,
    when an eye is much less open than its subject's usual. Unchanged without `usual` or when already
    BLINKING / NO_FACE. The one place both the eye check and the review's stored-prediction path apply it."""
    if not usual or judged.verdict in (Verdict.BLINKING, Verdict.NO_FACE):
        return judged
    rel = relative_eyes(faces, usual, strictness, thresholds)
    if rel is None or not (rel.flagged or rel.near):
        return judged
    if not rel.flagged:
        return replace(judged, check_reasons=judged.check_reasons + (rel.sentence,))
    faces_judged = tuple(replace(f, verdict=Verdict.BLINKING) if i == rel.face_index else f
                         for i, f in enumerate(judged.faces))
    return replace(judged, verdict=Verdict.BLINKING, reason=rel.sentence, faces=faces_judged,
                   confidence=round(0.5 + 0.5 * min(1.0, max(0.0, (rel.cut - rel.share) / rel.cut)), 3),
                   face_index=rel.face_index)
