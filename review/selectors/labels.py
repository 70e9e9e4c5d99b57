"""Effective labels: stored predictions judged at a strictness, correction stacks, and the card built from both.

The **effective label** of a photo is the photographer's latest word on it, else the machine's:

* the top of the photo's correction stack (whole-photo corrections), unless a per-face correction is newer;
* a newer per-face correction re-derives the photo from its faces (corrected faces as corrected, the
  others as the machine judged them): BLINKING when any face that counts is blinking;
* with no correction, the live model's stored per-eye P(closed) judged at the session's strictness by
  `ml.judge` — so the strictness slider re-groups photos instantly without re-analysis. When ml gives
  reasons to check such a photo it goes to the "check these" group; any correction in force decides it.

Undo appends a row (`Correction.undoes`) instead of deleting one; a correction that was taken back simply
drops off its stack, and what lay under it (an older correction, or the machine) counts again.
"""
from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from classifier import selectors as classifier_selectors
from classifier.models import Correction, Prediction, Verdict
from classifier.selectors import EYES
from ml.types import clamp_strictness
from sessions_app import media_names
from sessions_app.models import Photo, PhotoSession

from ..outcome import (
    NO, NOT_APPLICABLE, UNSURE, WHOLE_PHOTO_KINDS, YES, FlagState, PhotoOutcome, WholePhoto, outcome_of,
)
from .cards import GROUP_NO_FACE, GROUP_OF_OUTCOME, WHOLE_PHOTO_WORDS, EyeCard, FaceCard, PhotoCard, decided_reason

logger = logging.getLogger(__name__)


# --- Judging stored predictions -----------------------------------------------------------------------
# Every rule (subjects, eye states, per-face labels, the photo's verdict) is ml.verdict's; this part only
# reads the stored JSON defensively.


def thresholds_for(strictness: float):
    from ml.types import Thresholds

    return Thresholds.from_strictness(strictness)


def _float(value: Any, default: float | None) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return default
    return out if math.isfinite(out) else default


@dataclass(frozen=True)
class _MachineView:
    verdict: str
    confidence: float
    reason: str
    faces: list[dict]
    face_labels: list[str]
    face_subjects: list[bool]
    eye_states: list[tuple[str, ...]]  # per face, per stored eye
    model_version_id: int
    check_reasons: tuple[str, ...] = ()  # () = no need to check
    face_index: int | None = None  # the subject face that decided (ml.verdict's "main face")


def stored_check_reasons(details: Any) -> tuple[str, ...]:
    """The check reasons the worker stored (schema 3), for details that can't be re-judged; () when absent."""
    reasons = details.get("check_reasons") if isinstance(details, dict) else None
    return tuple(str(r) for r in reasons if isinstance(r, str)) if isinstance(reasons, list) else ()


def _machine_view(prediction: Prediction, thresholds, context: dict | None = None) -> _MachineView:
    """The stored prediction re-judged at `thresholds`, with the session's own-eyes rule when the session
    step gave this photo one (falls back to the stored verdict if it can't)."""
    from ml.verdict import in_session, judgement

    faces = [f for f in (prediction.details or {}).get("faces") or [] if isinstance(f, dict)]
    try:
        judged = in_session(judgement(faces, thresholds), faces, ((context or {}).get(EYES) or {}).get("faces"),
                            thresholds.strictness, thresholds)
        verdict, confidence, reason = judged.verdict.value, float(judged.confidence), judged.reason
        face_labels = [f.verdict.value for f in judged.faces]
        subjects = [f.is_subject for f in judged.faces]
        eye_states = [tuple(s.value for s in f.eye_states) for f in judged.faces]
        check = tuple(judged.check_reasons)
        main = judged.face_index
    except (TypeError, ValueError, KeyError, AttributeError):
        # Details from an older or broken run: show what the model said then rather than failing the page.
        logger.warning("could not re-judge prediction %s; using its stored verdict", prediction.pk, exc_info=True)
        verdict, confidence, reason = prediction.verdict, prediction.confidence, prediction.reason
        face_labels = [verdict] * len(faces)
        subjects = [bool(f.get("is_subject", True)) for f in faces]
        eye_states = [tuple(str(e.get("state", "")) for e in f.get("eyes") or [] if isinstance(e, dict))
                      for f in faces]
        check = stored_check_reasons(prediction.details)
        main = next((i for i, subject in enumerate(subjects) if subject), None)
    return _MachineView(verdict, confidence, reason, faces, face_labels, subjects, eye_states,
                        prediction.model_version_id, check, main)


# --- Correction stacks ----------------------------------------------------------------------------------


# The eye check's decisions and whole-photo decisions share one stack per (photo, face): the newest word
# wins between them, as it always has. Every other check's decisions stack apart (`flag_stacks`).
_SHARED_STACK = ("", EYES)


def correction_stacks(corrections: Iterable[Correction]) -> dict[tuple[int, int | None], list[Correction]]:
    """(photo id, face index) -> the eye check's and whole-photo corrections still in force, oldest first.
    Expects (created_at, id) order."""
    return _stacked(c for c in corrections if c.decision[0] in _SHARED_STACK)


def in_force(stack: list[Correction]) -> list[Correction]:
    """The rows of one stack that are in force, oldest first: its top, with the rows recorded in the same
    batch under it. A batch is one word (one undo step), so an editor's keep and the "eyes open" row read
    with it (review.services.editor_decisions) both stand while the keep is on top; the review shows the
    top, training and the strictness fitting read the eye row. Nothing else puts two rows of one batch on
    one stack."""
    if not stack:
        return []
    top = stack[-1]
    return [c for c in stack if c.batch == top.batch] if top.batch is not None else [top]


def flag_stacks(corrections: Iterable[Correction]) -> dict[tuple[int, str], list[Correction]]:
    """(photo id, check key) -> that check's photo-level corrections still in force, for every check but
    the eyes (whose decisions are in `correction_stacks`)."""
    return {(photo_id, flag): stack for (photo_id, _face, flag), stack in
            _stacked((c for c in corrections if c.decision[0] not in _SHARED_STACK), by_flag=True).items()}


def _stacked(corrections: Iterable[Correction], *, by_flag: bool = False) -> dict:
    stacks: dict = defaultdict(list)
    for c in corrections:
        stack = stacks[(c.photo_id, c.face_index, c.decision[0]) if by_flag else (c.photo_id, c.face_index)]
        if c.undoes_id is None:
            stack.append(c)
            continue
        for i in range(len(stack) - 1, -1, -1):
            if stack[i].id == c.undoes_id:
                del stack[i]
                break
    return stacks


def _order_key(c: Correction) -> tuple[datetime, int]:
    return (c.created_at, c.id)


def _build_card(
    photo: Photo,
    prediction: Prediction | None,
    stacks: dict[tuple[int, int | None], list[Correction]],
    thresholds,
    flags: dict[tuple[int, str], list[Correction]] | None = None,
    context: dict | None = None,
) -> PhotoCard | None:
    """One photo's card: its eye check and faces as the photographer and the machine left them, and its
    outcome over every check (`flags`: the other checks' decisions, `flag_stacks`; `context`: what the
    session steps know about this photo, check key -> context, `classifier.selectors.session_contexts`)."""
    if photo.status == Photo.Status.FAILED:
        reason = photo.error or "could not be read"
        return PhotoCard(photo=photo, group=GROUP_NO_FACE, verdict=None, machine_verdict=None, confidence=None,
                         reason=reason, outcome=outcome_of(flags=(), unreadable=reason))
    if photo.status != Photo.Status.DONE:
        return None
    if prediction is None:
        reason = "no analysis stored for this photo; re-run it"
        return PhotoCard(photo=photo, group=GROUP_NO_FACE, verdict=None, machine_verdict=None, confidence=None,
                         reason=reason, outcome=outcome_of(flags=(), unreadable=reason))
    machine = _machine_view(prediction, thresholds, context)

    faces: list[FaceCard] = []
    newest_face_fix: Correction | None = None
    for index, face in enumerate(machine.faces):
        stack = stacks.get((photo.id, index)) or []
        fix = stack[-1] if stack else None
        if fix is not None and (newest_face_fix is None or _order_key(fix) > _order_key(newest_face_fix)):
            newest_face_fix = fix
        stored_eyes = [eye for eye in face.get("eyes") or [] if isinstance(eye, dict)]
        eyes = tuple(
            EyeCard(
                side=str(eye.get("side", "")),
                state=state,
                p_closed=_float(eye.get("p_closed"), 0.0) or 0.0,
                openness=_float(eye.get("openness"), None),
                box=eye.get("box") if isinstance(eye.get("box"), dict) else None,
                has_crop=bool(media_names.eye_crop_stored_name(eye)),
            )
            for eye, state in zip(stored_eyes, machine.eye_states[index], strict=False)
        )
        machine_label = machine.face_labels[index]
        faces.append(
            FaceCard(
                index=index,
                box=face.get("box") if isinstance(face.get("box"), dict) else None,
                is_subject=machine.face_subjects[index],
                eyes=eyes,
                machine_label=machine_label,
                label=fix.label if fix is not None else machine_label,
                correction=fix,
            )
        )

    photo_stack = stacks.get((photo.id, None)) or []
    photo_fix = photo_stack[-1] if photo_stack else None
    if newest_face_fix is not None and (photo_fix is None or _order_key(newest_face_fix) > _order_key(photo_fix)):
        # The latest word was about a face: the photo follows its faces (ml's rule; labelled faces count).
        from ml.verdict import verdict_from_faces

        verdict = verdict_from_faces([(f.label, f.corrected or f.is_subject) for f in faces]).value
        decided_by = newest_face_fix
    elif photo_fix is not None:
        # "keep anyway" / "reject" say nothing about the eyes: the card keeps the machine's reading of them.
        verdict, decided_by = (machine.verdict if photo_fix.decision in KEEP_OR_REJECT else photo_fix.label), photo_fix
    else:
        verdict, decided_by = machine.verdict, None
    # The sentence says what decided the label: the photographer's faces when they decided faces.
    reason = decided_reason(faces, verdict=verdict) if decided_by is newest_face_fix and decided_by else machine.reason
    others = machine_flag_states(prediction.details, classifier_selectors.session_strictness(photo.session), context)
    decided = {flag: stack[-1] for (photo_id, flag), stack in (flags or {}).items() if photo_id == photo.id and stack}
    outcome = outcome_from(verdict=verdict, reason=reason, decided_by=decided_by, machine_verdict=machine.verdict,
                           check_reasons=machine.check_reasons, others=others, decided=decided)
    return PhotoCard(
        photo=photo,
        group=GROUP_OF_OUTCOME[outcome.kind],
        outcome=outcome,
        verdict=verdict,
        machine_verdict=machine.verdict,
        confidence=machine.confidence,
        reason=reason,
        faces=tuple(faces),
        correction=decided_by,
        model_version_id=machine.model_version_id,
        machine_reason=machine.reason,
        check_reasons=machine.check_reasons,
        machine_others=others,
        main_face_index=machine.face_index,
        session_context=context or {},
    )


_EYE_STATES = {Verdict.BLINKING.value: YES, Verdict.NOT_BLINKING.value: NO}
KEEP_OR_REJECT = (("", "keep"), ("", "reject"))  # whole-photo decisions that aren't about the eyes


def whole_photo_group(correction: Correction) -> str | None:
    """The review group a whole-photo "keep anyway" / "reject" puts a photo in; None for other decisions."""
    if correction.decision not in KEEP_OR_REJECT:
        return None
    return GROUP_OF_OUTCOME[WHOLE_PHOTO_KINDS[correction.decision[1]]]


def outcome_from(*, verdict: str, reason: str, decided_by: Correction | None, machine_verdict: str,
                 check_reasons: tuple[str, ...], others: tuple[FlagState, ...],
                 decided: dict[str, Correction]) -> PhotoOutcome:
    """A photo's outcome (review.outcome's rule) from its eye check (`verdict` in force, the correction that
    decided it, the machine's verdict and check reasons) and every other check (the machine's states,
    `machine_flag_states`, with the photographer's word on each decided flag). Cards and the counts' light
    rows both come here, so they never disagree."""
    whole = None
    if decided_by is not None and not decided_by.decision[0]:
        value = decided_by.decision[1]
        whole = WholePhoto(value, decided_by.created_at, WHOLE_PHOTO_WORDS.get(value, value))
        eyes_state = _EYE_STATES.get(machine_verdict, NOT_APPLICABLE)
        eyes_at = None
    else:
        eyes_state = _EYE_STATES.get(verdict, NOT_APPLICABLE)
        eyes_at = decided_by.created_at if decided_by is not None else None
    if eyes_at is None and eyes_state != NOT_APPLICABLE and check_reasons:
        eyes_state = UNSURE
    checks = _checks()
    states = [FlagState(EYES, checks[EYES]["title"], checks[EYES]["rejects"], eyes_state, reason, check_reasons,
                        eyes_at, machine_flagged=machine_verdict == Verdict.BLINKING.value)]
    if others or decided:
        by_key = {state.key: state for state in others}
        for key, check in checks.items():
            if key == EYES:
                continue
            machine = by_key.get(key) or FlagState(key, check["title"], check["rejects"], NOT_APPLICABLE)
            states.append(_decided(check, machine, decided[key]) if key in decided else machine)
    return outcome_of(flags=states, whole_photo=whole)


def machine_flag_states(details: Any, strictness: dict[str, float], context: dict | None) -> tuple[FlagState, ...]:
    """Every check but the eyes as the machine alone reads it (no decisions), in the registry's order; ()
    when the prediction stored no other check. What the counts cache per photo."""
    others = {k: v for k, v in classifier_selectors.stored_details(details).items() if k != EYES}
    if not others:
        return ()
    found = classifier_selectors.photo_findings({"checks": others}, strictness, context)
    return tuple(_machine_state(check, found.get(key)) for key, check in _checks().items() if key != EYES)


def _checks() -> dict[str, dict]:
    return {c["key"]: c for c in classifier_selectors.checks()}


def _machine_state(check: dict, finding) -> FlagState:
    title, rejects = check["title"], check["rejects"]
    if finding is None or not finding.applies:
        return FlagState(check["key"], title, rejects, NOT_APPLICABLE, finding.sentence if finding else "")
    state = YES if finding.flagged else UNSURE if finding.needs_check else NO
    return FlagState(check["key"], title, rejects, state, finding.sentence, finding.check_reasons,
                     machine_flagged=finding.flagged, keywords=finding.keywords)


def _decided(check: dict, machine: FlagState, decision: Correction) -> FlagState:
    """The photographer's word on one flag; the machine's reading is kept for agreement."""
    yes = decision.decision[1] == Correction.Value.FLAGGED
    words = check["words"]["flagged" if yes else "clear"]
    return FlagState(check["key"], check["title"], check["rejects"], YES if yes else NO, f"{words}, your call", (),
                     decision.created_at, machine_flagged=machine.machine_flagged, keywords=machine.keywords)


def _strictness(session: PhotoSession, strictness: float | None) -> float:
    return clamp_strictness(session.strictness if strictness is None else strictness)
