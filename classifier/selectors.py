"""Reads for the review screen and the exports: effective labels, groups, strictness previews, agreement.

The **effective label** of a photo is the photographer's latest word on it, else the machine's:

* the top of the photo's correction stack (whole-photo corrections), unless a per-face correction is newer;
* a newer per-face correction re-derives the photo from its faces (corrected faces as corrected, the
  others as the machine judged them): BLINKING when any face that counts is blinking;
* with no correction, the live model's stored per-eye P(closed) judged at the session's strictness by
  `ml.judge` — so the strictness slider re-groups photos instantly without re-analysis.

Undo appends a row (`Correction.undoes`) instead of deleting one; a correction that was taken back simply
drops off its stack, and what lay under it (an older correction, or the machine) counts again.
Every function here takes an already owner-checked session or photo (sessions_app.selectors does that).
"""
from __future__ import annotations

import hashlib
import logging
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Max, Q

from sessions_app.models import Photo, PhotoSession

from .models import Correction, Prediction, Verdict

logger = logging.getLogger(__name__)

GROUP_BLINKING = "blinking"
GROUP_NOT_BLINKING = "not_blinking"
GROUP_NO_FACE = "no_face"  # effective NO_FACE and unreadable (failed) photos
GROUP_KEYS = (GROUP_BLINKING, GROUP_NOT_BLINKING, GROUP_NO_FACE)
GROUP_TITLES = {
    GROUP_BLINKING: "Blinking",
    GROUP_NOT_BLINKING: "Not blinking",
    GROUP_NO_FACE: "No face / unreadable",
}
_VERDICT_GROUP = {
    Verdict.BLINKING.value: GROUP_BLINKING,
    Verdict.NOT_BLINKING.value: GROUP_NOT_BLINKING,
    Verdict.NO_FACE.value: GROUP_NO_FACE,
}

FACES_SHOWN = 3  # faces a review card shows before folding the rest away

SORT_CONFIDENCE = "confidence"  # least confident first: the ones worth a look
SORT_TIME = "time"
SORT_NAME = "name"
SORTS = {SORT_CONFIDENCE: "Least confident first", SORT_TIME: "Capture time", SORT_NAME: "File name"}

VERDICT_LABELS = {
    Verdict.BLINKING.value: "Blinking",
    Verdict.NOT_BLINKING.value: "Not blinking",
    Verdict.NO_FACE.value: "No face",
}

EYE_STATE_LABELS = {
    "open": "open",
    "partly_closed": "partly closed",
    "closed": "closed",
    "not_visible": "not visible",
}


# --- What the review screen and the exports get ------------------------------------------------------


@dataclass(frozen=True)
class EyeCard:
    side: str  # "left" / "right": the subject's own
    state: str  # at the session's strictness: open / partly_closed / closed / not_visible
    p_closed: float
    openness: float | None
    box: dict | None  # fractions of the oriented image: x0, y0, x1, y1
    has_crop: bool

    @property
    def state_label(self) -> str:
        return EYE_STATE_LABELS.get(self.state, self.state)

    @property
    def state_percent(self) -> int | None:
        """How strongly the state word holds, on the scale `state_scale` names (None when not visible).

        One convention everywhere (card chips, face strip, lightbox, CSV summary): a closed or partly
        closed eye shows P(closed), the number in the reason sentence; an open eye shows its openness.
        So "closed 71%" and "left eye closed (0.71)" are the same number, never 29% beside 0.71.
        """
        if self.state == "not_visible":
            return None
        if self.state in ("closed", "partly_closed"):
            return round(100 * self.p_closed)
        openness = self.openness if self.openness is not None else 1.0 - self.p_closed
        return round(100 * openness)

    @property
    def state_scale(self) -> str:
        """What `state_percent` measures: "P(closed)" or "openness"."""
        return "P(closed)" if self.state in ("closed", "partly_closed") else "openness"

    @property
    def summary(self) -> str:
        """'closed 71%' / 'open 96%' / 'not visible': the state word and its number."""
        percent = self.state_percent
        return self.state_label if percent is None else f"{self.state_label} {percent}%"


@dataclass(frozen=True)
class FaceCard:
    index: int
    box: dict | None
    is_subject: bool
    eyes: tuple[EyeCard, ...]
    machine_label: str  # Verdict value: how the machine judges this face alone
    label: str  # effective label of this face
    correction: Correction | None  # the face's active correction, if any

    @property
    def corrected(self) -> bool:
        return self.correction is not None

    @property
    def box_style(self) -> str:
        """CSS placing the face's box over the photo (percentages), '' when unknown."""
        try:
            x0, y0, x1, y1 = (float(self.box[k]) for k in ("x0", "y0", "x1", "y1"))
        except (TypeError, KeyError, ValueError):
            return ""
        return f"left:{100 * x0:.2f}%;top:{100 * y0:.2f}%;width:{100 * (x1 - x0):.2f}%;height:{100 * (y1 - y0):.2f}%"

    @property
    def is_blinking(self) -> bool:
        return self.label == Verdict.BLINKING


@dataclass(frozen=True)
class PhotoCard:
    photo: Photo
    group: str  # one of GROUP_KEYS
    verdict: str | None  # effective Verdict value; None for an unreadable photo
    machine_verdict: str | None  # the live prediction judged at the strictness
    confidence: float | None  # the machine's, 0.5-1
    reason: str  # the machine's sentence, or why the file couldn't be read
    faces: tuple[FaceCard, ...] = ()
    correction: Correction | None = None  # the correction that decided `verdict` (photo- or face-level)
    model_version_id: int | None = None

    @property
    def unreadable(self) -> bool:
        return self.verdict is None

    @property
    def corrected(self) -> bool:
        """A person decided this photo's label (it may agree with the machine)."""
        return self.correction is not None

    @property
    def changed(self) -> bool:
        """The photographer's label differs from the machine's."""
        return self.corrected and self.verdict != self.machine_verdict

    @property
    def corrected_by(self):
        return self.correction.created_by if self.correction is not None else None

    @property
    def has_several_faces(self) -> bool:
        return len(self.faces) > 1

    @property
    def faces_ranked(self) -> list[FaceCard]:
        """Blinking faces first, then subjects, then background faces (each in detection order)."""
        return sorted(self.faces, key=lambda f: (not f.is_blinking, not f.is_subject, f.index))

    @property
    def faces_shown(self) -> list[FaceCard]:
        """What the card shows at once; a 16-face group photo keeps the rest behind 'more faces'."""
        return self.faces_ranked[:FACES_SHOWN]

    @property
    def faces_more(self) -> list[FaceCard]:
        return self.faces_ranked[FACES_SHOWN:]

    @property
    def verdict_label(self) -> str:
        return "Unreadable" if self.verdict is None else VERDICT_LABELS.get(self.verdict, self.verdict)

    @property
    def machine_label(self) -> str:
        return VERDICT_LABELS.get(self.machine_verdict or "", "—")

    @property
    def css_key(self) -> str:
        """blinking / not_blinking / no_face / unreadable: what the card's colour says."""
        return "unreadable" if self.verdict is None else _VERDICT_GROUP.get(self.verdict, GROUP_NO_FACE)

    @property
    def confidence_percent(self) -> int | None:
        return None if self.confidence is None else round(100 * self.confidence)

    @property
    def is_keeper(self) -> bool:
        """Exported as a keeper: judged and not blinking (a face-less detail shot is a keeper too)."""
        return self.verdict is not None and self.verdict != Verdict.BLINKING


@dataclass(frozen=True)
class Group:
    key: str
    title: str
    cards: list[PhotoCard]

    @property
    def count(self) -> int:
        return len(self.cards)

    @property
    def anchor(self) -> str:
        return self.key.replace("_", "-")


@dataclass(frozen=True)
class Groups:
    strictness: float
    sort: str
    blinking: list[PhotoCard]
    not_blinking: list[PhotoCard]
    no_face: list[PhotoCard]  # effective NO_FACE first is not promised: sorted like the others
    pending: int  # photos still queued or processing (not in any group yet)

    @property
    def counts(self) -> dict[str, int]:
        unreadable = sum(1 for c in self.no_face if c.unreadable)
        return {
            GROUP_BLINKING: len(self.blinking),
            GROUP_NOT_BLINKING: len(self.not_blinking),
            # Callers that show unreadable files separately add this up with "unreadable".
            GROUP_NO_FACE: len(self.no_face) - unreadable,
            "unreadable": unreadable,
            "pending": self.pending,
        }

    @property
    def groups(self) -> list[Group]:
        return [Group(key, GROUP_TITLES[key], getattr(self, key)) for key in GROUP_KEYS]

    def group(self, key: str) -> Group:
        if key not in GROUP_KEYS:
            raise KeyError(key)
        return Group(key, GROUP_TITLES[key], getattr(self, key))

    @property
    def total(self) -> int:
        return len(self.blinking) + len(self.not_blinking) + len(self.no_face)

    def all_cards(self) -> list[PhotoCard]:
        return [*self.blinking, *self.not_blinking, *self.no_face]


@dataclass(frozen=True)
class StrictnessPreview:
    current: float
    strictness: float
    to_blinking: int  # photos that would join BLINKING
    to_not_blinking: int  # photos that would leave BLINKING for NOT BLINKING
    counts_now: dict[str, int] = field(default_factory=dict)
    counts_after: dict[str, int] = field(default_factory=dict)

    @property
    def moved(self) -> int:
        return self.to_blinking + self.to_not_blinking

    @property
    def sentence(self) -> str:
        if not self.moved:
            return "No photo changes group."
        parts = []
        if self.to_blinking:
            parts.append(f"{_n(self.to_blinking, 'photo')} move{'s' if self.to_blinking == 1 else ''} to Blinking")
        if self.to_not_blinking:
            parts.append(
                f"{_n(self.to_not_blinking, 'photo')} move{'s' if self.to_not_blinking == 1 else ''} to Not blinking"
            )
        return "; ".join(parts) + "."


@dataclass(frozen=True)
class Agreement:
    total: int  # judged photos (done, with a prediction)
    flagged: int  # the machine said BLINKING (at the session's strictness)
    kept: int  # ... and the photographer kept them
    missed: int  # the machine let a blink through and the photographer caught it
    corrected: int  # photos with a photographer's decision (including ones that agree)

    @property
    def disagreements(self) -> int:
        return self.kept + self.missed

    @property
    def agreement_percent(self) -> int | None:
        if not self.total or not self.reviewed:
            return None
        return round(100 * (self.total - self.disagreements) / self.total)

    @property
    def reviewed(self) -> bool:
        """The photographer has decided at least one photo: only then is there agreement to report."""
        return self.corrected > 0

    @property
    def sentence(self) -> str:
        """'Of 37 flagged you kept 2; 1 blink was missed.' once reviewed, else what the model flagged."""
        if not self.total:
            return "Nothing judged yet."
        if not self.reviewed:
            # Without a single decision "you kept 0, no blink was missed" would claim a review that never happened.
            flagged = str(self.flagged) if self.flagged else "nothing"
            return f"Not reviewed yet: {flagged} flagged by the model."
        if self.flagged:
            head = f"Of {self.flagged} flagged you kept {self.kept}"
        else:
            head = "Nothing was flagged"
        if self.missed == 0:
            tail = "no blink was missed"
        elif self.missed == 1:
            tail = "1 blink was missed"
        else:
            tail = f"{self.missed} blinks were missed"
        return f"{head}; {tail}."


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


# --- Judging stored predictions -----------------------------------------------------------------------


def thresholds_for(strictness: float):
    from ml.types import Thresholds

    return Thresholds.from_strictness(strictness)


def _judge(faces: list[dict], thresholds) -> tuple[str, float, str]:
    from ml import judge  # classifier is the one app that imports ml

    verdict, confidence, reason = judge(faces, thresholds)
    return getattr(verdict, "value", str(verdict)), float(confidence), reason


def _eye_state(eye: dict, thresholds) -> str:
    # Re-derived at this strictness with ml's own cut-offs; "not visible" stays as analysed.
    from ml.verdict import eye_state

    if eye.get("state") == "not_visible":
        return "not_visible"
    return eye_state(_float(eye.get("p_closed"), 0.0) or 0.0, thresholds).value


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
    model_version_id: int


def _machine_view(prediction: Prediction, thresholds) -> _MachineView:
    """The stored prediction re-judged at `thresholds` (falls back to the stored verdict if it can't)."""
    faces = [f for f in (prediction.details or {}).get("faces") or [] if isinstance(f, dict)]
    try:
        verdict, confidence, reason = _judge(faces, thresholds)
        if len(faces) > 1:
            # Each face judged alone says whether *it* blinks; subject flags say whether it counts.
            face_labels = [_judge([face], thresholds)[0] for face in faces]
            subjects = _subject_flags(faces, thresholds)
        else:
            face_labels, subjects = [verdict] * len(faces), [True] * len(faces)
    except (TypeError, ValueError, KeyError, AttributeError):
        # Details from an older or broken run: show what the model said then rather than failing the page.
        logger.warning("could not re-judge prediction %s; using its stored verdict", prediction.pk, exc_info=True)
        verdict, confidence, reason = prediction.verdict, prediction.confidence, prediction.reason
        face_labels = [verdict] * len(faces)
        subjects = [bool(f.get("is_subject", True)) for f in faces]
    return _MachineView(verdict, confidence, reason, faces, face_labels, subjects, prediction.model_version_id)


def _subject_flags(faces: list[dict], thresholds) -> list[bool]:
    # The same rule ml.judge applies: sizes decide when known, else the stored flag.
    from ml.verdict import subject_flags

    widths = [_float(f.get("size_px"), 0.0) or 0.0 for f in faces]
    if all(w > 0 for w in widths):
        return subject_flags(widths, thresholds)
    return [bool(f.get("is_subject", True)) for f in faces]


# --- Correction stacks ----------------------------------------------------------------------------------


def _stacks(corrections: Iterable[Correction]) -> dict[tuple[int, int | None], list[Correction]]:
    """(photo id, face index) -> corrections still in force, oldest first. Expects (created_at, id) order."""
    stacks: dict[tuple[int, int | None], list[Correction]] = defaultdict(list)
    for c in corrections:
        stack = stacks[(c.photo_id, c.face_index)]
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
) -> PhotoCard | None:
    if photo.status == Photo.Status.FAILED:
        return PhotoCard(photo=photo, group=GROUP_NO_FACE, verdict=None, machine_verdict=None, confidence=None,
                         reason=photo.error or "could not be read")
    if photo.status != Photo.Status.DONE:
        return None
    if prediction is None:
        return PhotoCard(photo=photo, group=GROUP_NO_FACE, verdict=None, machine_verdict=None, confidence=None,
                         reason="no analysis stored for this photo; re-run it")
    machine = _machine_view(prediction, thresholds)

    faces: list[FaceCard] = []
    newest_face_fix: Correction | None = None
    for index, face in enumerate(machine.faces):
        stack = stacks.get((photo.id, index)) or []
        fix = stack[-1] if stack else None
        if fix is not None and (newest_face_fix is None or _order_key(fix) > _order_key(newest_face_fix)):
            newest_face_fix = fix
        eyes = tuple(
            EyeCard(
                side=str(eye.get("side", "")),
                state=_eye_state(eye, thresholds),
                p_closed=_float(eye.get("p_closed"), 0.0) or 0.0,
                openness=_float(eye.get("openness"), None),
                box=eye.get("box") if isinstance(eye.get("box"), dict) else None,
                has_crop=bool(eye.get("crop_path")),
            )
            for eye in face.get("eyes") or []
            if isinstance(eye, dict)
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
        # The latest word was about a face: the photo follows its faces.
        blinking = any(
            f.label == Verdict.BLINKING and (f.corrected or f.is_subject) for f in faces
        )
        verdict = Verdict.BLINKING.value if blinking else Verdict.NOT_BLINKING.value
        decided_by = newest_face_fix
    elif photo_fix is not None:
        verdict, decided_by = photo_fix.label, photo_fix
    else:
        verdict, decided_by = machine.verdict, None
    return PhotoCard(
        photo=photo,
        group=_VERDICT_GROUP.get(verdict, GROUP_NO_FACE),
        verdict=verdict,
        machine_verdict=machine.verdict,
        confidence=machine.confidence,
        reason=machine.reason,
        faces=tuple(faces),
        correction=decided_by,
        model_version_id=machine.model_version_id,
    )


# --- Loading ----------------------------------------------------------------------------------------------


def _predictions_by_photo(photo_filter: Q) -> dict[int, Prediction]:
    """The live model's prediction per photo, else the newest one (a photo not yet re-run on a new model)."""
    best: dict[int, Prediction] = {}
    rows = (
        Prediction.objects.filter(photo_filter)
        .select_related("model_version")
        .only("id", "photo_id", "verdict", "confidence", "reason", "details", "updated_at",
              "model_version__id", "model_version__is_live")
        .order_by("photo_id", "-model_version__is_live", "-updated_at", "-id")
    )
    for p in rows:
        best.setdefault(p.photo_id, p)
    return best


def _corrections(photo_filter: Q) -> list[Correction]:
    return list(
        Correction.objects.filter(photo_filter).select_related("created_by").order_by("created_at", "id")
    )


@dataclass(frozen=True)
class _Loaded:
    photos: list[Photo]
    predictions: dict[int, Prediction]
    stacks: dict[tuple[int, int | None], list[Correction]]

    def cards(self, thresholds) -> tuple[list[PhotoCard], int]:
        cards, pending = [], 0
        for photo in self.photos:
            card = _build_card(photo, self.predictions.get(photo.id), self.stacks, thresholds)
            if card is None:
                pending += 1
            else:
                cards.append(card)
        return cards, pending


def _load_session(session: PhotoSession) -> _Loaded:
    photos = list(session.photos.all().order_by("original_filename", "id"))
    return _Loaded(
        photos=photos,
        predictions=_predictions_by_photo(Q(photo__session=session)),
        stacks=_stacks(_corrections(Q(photo__session=session))),
    )


def _strictness(session: PhotoSession, strictness: float | None) -> float:
    value = session.strictness if strictness is None else strictness
    return min(1.0, max(0.0, float(value)))


def _sort_key(sort: str):
    if sort == SORT_TIME:
        return lambda c: (
            c.photo.taken_at is None, c.photo.taken_at or datetime.min, c.photo.original_filename.lower(), c.photo.id
        )
    if sort == SORT_NAME:
        return lambda c: (c.photo.original_filename.lower(), c.photo.id)
    # Least confident first; unreadable files (no confidence) last.
    return lambda c: (c.confidence is None, c.confidence if c.confidence is not None else 0.0,
                      c.photo.original_filename.lower(), c.photo.id)


# --- Counting without cards (dashboard, progress panel, session page) ---------------------------------------
# Counts and agreement only need each photo's group and the machine's verdict. Uncorrected photos (the vast
# majority) get them from `ml.verdict_of` over rows read as tuples, with no model instances, eye cards or
# reason sentences; photos with a correction still go through `_build_card`, so the rules live in one place.


@dataclass(frozen=True)
class _Outcome:
    group: str
    verdict: str | None  # None: unreadable
    machine_verdict: str | None
    corrected: bool

    @property
    def unreadable(self) -> bool:
        return self.verdict is None


def _machine_verdict(prediction_id: int, stored_verdict: str, details: Any, thresholds) -> str:
    from ml.verdict import verdict_of

    faces = [f for f in (details or {}).get("faces") or [] if isinstance(f, dict)]
    try:
        return verdict_of(faces, thresholds).value
    except (TypeError, ValueError, KeyError, AttributeError):
        logger.warning("could not re-judge prediction %s; using its stored verdict", prediction_id, exc_info=True)
        return stored_verdict


@dataclass(frozen=True)
class _LeanLoaded:
    photos: dict[int, list[tuple[int, str, str]]]  # session id -> (photo id, status, error)
    predictions: dict[int, tuple]  # photo id -> (id, verdict, confidence, reason, details, model_version_id)
    stacks: dict[tuple[int, int | None], list[Correction]]
    corrected: set[int]  # photos with a correction in force (photo- or face-level)

    def outcomes(self, session_id: int, thresholds) -> tuple[list[_Outcome], int]:
        out: list[_Outcome] = []
        pending = 0
        for photo_id, status, error in self.photos.get(session_id, ()):
            if status == Photo.Status.FAILED:
                out.append(_Outcome(GROUP_NO_FACE, None, None, False))
            elif status != Photo.Status.DONE:
                pending += 1
            elif (row := self.predictions.get(photo_id)) is None:
                out.append(_Outcome(GROUP_NO_FACE, None, None, False))
            elif photo_id in self.corrected:
                card = _build_card(Photo(id=photo_id, session_id=session_id, status=status, error=error),
                                   _prediction_from_row(row), self.stacks, thresholds)
                out.append(_Outcome(card.group, card.verdict, card.machine_verdict, card.corrected))
            else:
                verdict = _machine_verdict(row[0], row[1], row[4], thresholds)
                out.append(_Outcome(_VERDICT_GROUP.get(verdict, GROUP_NO_FACE), verdict, verdict, False))
        return out, pending


def _prediction_from_row(row: tuple) -> Prediction:
    pk, verdict, confidence, reason, details, model_version_id = row
    return Prediction(id=pk, verdict=verdict, confidence=confidence, reason=reason, details=details,
                      model_version_id=model_version_id)


def _load_lean(session_ids: list[int]) -> _LeanLoaded:
    """Three queries whatever the number of sessions or photos."""
    photos: dict[int, list[tuple[int, str, str]]] = defaultdict(list)
    rows = Photo.objects.filter(session_id__in=session_ids).order_by().values_list("id", "session_id", "status", "error")
    for photo_id, session_id, status, error in rows:
        photos[session_id].append((photo_id, status, error))
    predicted = (
        Prediction.objects.filter(photo__session_id__in=session_ids)
        # Same choice as _predictions_by_photo: the live model's, else the newest.
        .order_by("photo_id", "-model_version__is_live", "-updated_at", "-id")
        .values_list("photo_id", "id", "verdict", "confidence", "reason", "details", "model_version_id")
    )
    predictions: dict[int, tuple] = {}
    for photo_id, *row in predicted:
        predictions.setdefault(photo_id, tuple(row))
    stacks = _stacks(_corrections(Q(photo__session_id__in=session_ids)))
    corrected = {photo_id for (photo_id, _), stack in stacks.items() if stack}
    return _LeanLoaded(photos=photos, predictions=predictions, stacks=stacks, corrected=corrected)


def _counts_from_outcomes(outcomes: list[_Outcome], pending: int) -> dict[str, int]:
    """The same dict as Groups.counts."""
    groups = dict.fromkeys(GROUP_KEYS, 0)
    for o in outcomes:
        groups[o.group] += 1
    unreadable = sum(1 for o in outcomes if o.unreadable)
    return {**groups, GROUP_NO_FACE: groups[GROUP_NO_FACE] - unreadable, "unreadable": unreadable, "pending": pending}


@dataclass(frozen=True)
class SessionSummary:
    """Group counts and agreement of one session, without building its cards."""

    counts: dict[str, int]  # as Groups.counts: blinking, not_blinking, no_face, unreadable, pending
    agreement: Agreement


def session_summary(*, session: PhotoSession) -> SessionSummary:
    """What the session page and its polled progress panel show: counts and agreement, in three queries."""
    outcomes, pending = _load_lean([session.id]).outcomes(session.id, thresholds_for(_strictness(session, None)))
    return SessionSummary(counts=_counts_from_outcomes(outcomes, pending), agreement=agreement_from_cards(outcomes))


# --- Public reads ----------------------------------------------------------------------------------------


def session_groups(*, session: PhotoSession, strictness: float | None = None, sort: str = SORT_CONFIDENCE) -> Groups:
    """The three review groups of a session, at `strictness` (default: the session's own)."""
    value = _strictness(session, strictness)
    cards, pending = _load_session(session).cards(thresholds_for(value))
    sort = sort if sort in SORTS else SORT_CONFIDENCE
    cards.sort(key=_sort_key(sort))
    by_group: dict[str, list[PhotoCard]] = {key: [] for key in GROUP_KEYS}
    for card in cards:
        by_group[card.group].append(card)
    return Groups(strictness=value, sort=sort, pending=pending, **by_group)


def session_cards(*, session: PhotoSession, strictness: float | None = None) -> list[PhotoCard]:
    """Every judged or unreadable photo of the session as a card, by file name (exports use this)."""
    cards, _ = _load_session(session).cards(thresholds_for(_strictness(session, strictness)))
    cards.sort(key=_sort_key(SORT_NAME))
    return cards


def photo_card(*, photo: Photo, strictness: float | None = None) -> PhotoCard | None:
    """One photo's card (None while it is still being processed)."""
    value = _strictness(photo.session, strictness)
    loaded = _Loaded(
        photos=[photo],
        predictions=_predictions_by_photo(Q(photo=photo)),
        stacks=_stacks(_corrections(Q(photo=photo))),
    )
    cards, _ = loaded.cards(thresholds_for(value))
    return cards[0] if cards else None


def photo_stored_faces(*, photo: Photo) -> list[dict]:
    """The faces as analysed (boxes, eyes, crop names) in the prediction the review screen uses."""
    prediction = _predictions_by_photo(Q(photo=photo)).get(photo.id)
    faces = (prediction.details or {}).get("faces") if prediction else None
    return [f for f in faces if isinstance(f, dict)] if isinstance(faces, list) else []


def photo_active_corrections(*, photo: Photo) -> list[Correction]:
    """Corrections of this photo still in force (all faces), newest first: what undo takes back next."""
    stacks = _stacks(_corrections(Q(photo=photo)))
    active = [c for stack in stacks.values() for c in stack]
    return sorted(active, key=_order_key, reverse=True)


def strictness_preview(*, session: PhotoSession, strictness: float) -> StrictnessPreview:
    """How many photos would change group if the session's strictness became `strictness`.

    Photos the photographer decided don't move: their label is theirs, not the threshold's.
    """
    loaded = _load_session(session)
    now_value = _strictness(session, None)
    new_value = _strictness(session, strictness)
    now_cards, _ = loaded.cards(thresholds_for(now_value))
    new_cards, _ = loaded.cards(thresholds_for(new_value))
    to_blinking = to_not_blinking = 0
    for before, after in zip(now_cards, new_cards, strict=True):
        if before.group == after.group:
            continue
        if after.group == GROUP_BLINKING:
            to_blinking += 1
        elif before.group == GROUP_BLINKING:
            to_not_blinking += 1
    return StrictnessPreview(
        current=now_value,
        strictness=new_value,
        to_blinking=to_blinking,
        to_not_blinking=to_not_blinking,
        counts_now=_group_counts(now_cards),
        counts_after=_group_counts(new_cards),
    )


def _group_counts(cards: Iterable[PhotoCard]) -> dict[str, int]:
    counts = dict.fromkeys(GROUP_KEYS, 0)
    for card in cards:
        counts[card.group] += 1
    return counts


def session_agreement(*, session: PhotoSession) -> Agreement:
    """How the model did against the photographer: 'of 37 flagged you kept 2; 1 blink was missed'."""
    return session_summary(session=session).agreement


def agreement_from_cards(cards: Iterable[PhotoCard | _Outcome]) -> Agreement:
    total = flagged = kept = missed = corrected = 0
    for card in cards:
        if card.unreadable:
            continue
        total += 1
        corrected += card.corrected
        machine_blink = card.machine_verdict == Verdict.BLINKING
        human_blink = card.verdict == Verdict.BLINKING
        if machine_blink:
            flagged += 1
            kept += not human_blink
        elif human_blink:
            missed += 1
    return Agreement(total=total, flagged=flagged, kept=kept, missed=missed, corrected=corrected)


# Bump when the judging rules change, so a shared cache (Redis) doesn't serve counts from the old rules.
_COUNTS_CACHE_VERSION = 1
_COUNTS_CACHE_SECONDS = 24 * 3600


def _sessions_fingerprints(session_ids: list[int]) -> dict[int, tuple]:
    """Per session, numbers that change whenever its effective labels can: photo statuses, predictions
    (re-runs bump updated_at; a promotion changes the live model), corrections (append-only). Three
    aggregate queries, no JSON read."""
    photos = defaultdict(list)
    rows = Photo.objects.filter(session_id__in=session_ids).order_by().values_list("session_id", "status").annotate(
        n=Count("id"))
    for session_id, status, n in sorted(rows):
        photos[session_id].append((status, n))
    predictions = {
        row[0]: row[1:]
        for row in Prediction.objects.filter(photo__session_id__in=session_ids).order_by()
        .values_list("photo__session_id")
        .annotate(n=Count("id"), last=Max("updated_at"), top=Max("id"),
                  live=Max("model_version_id", filter=Q(model_version__is_live=True)),
                  live_n=Count("id", filter=Q(model_version__is_live=True)))
    }
    corrections = {
        row[0]: row[1:]
        for row in Correction.objects.filter(photo__session_id__in=session_ids).order_by()
        .values_list("photo__session_id").annotate(n=Count("id"), top=Max("id"))
    }
    return {
        sid: (tuple(photos.get(sid, ())), tuple(map(str, predictions.get(sid, ()))), corrections.get(sid, ()))
        for sid in session_ids
    }


def _blinking_cache_key(session: PhotoSession, fingerprint: tuple) -> str:
    digest = hashlib.sha1(repr((_strictness(session, None), fingerprint)).encode()).hexdigest()
    return f"eyespy:blinking:v{_COUNTS_CACHE_VERSION}:{session.id}:{digest}"


def sessions_blinking_counts(*, sessions: Sequence[PhotoSession]) -> dict[int, int]:
    """Effective BLINKING photos per session id (dashboard), each at its own strictness.

    Re-judging every photo of a busy dashboard costs ~50 us a photo (mostly reading the details JSON), so
    counts are cached per session under a fingerprint of everything they depend on: only sessions that
    changed since the last look are judged again. Constant query count either way.
    """
    if not sessions:
        return {}
    fingerprints = _sessions_fingerprints([s.id for s in sessions])
    keys = {s.id: _blinking_cache_key(s, fingerprints[s.id]) for s in sessions}
    cached = cache.get_many(list(keys.values()))
    out = {s.id: cached[keys[s.id]] for s in sessions if keys[s.id] in cached}
    stale = [s for s in sessions if s.id not in out]
    if stale:
        loaded = _load_lean([s.id for s in stale])
        for session in stale:
            outcomes, _ = loaded.outcomes(session.id, thresholds_for(_strictness(session, None)))
            out[session.id] = sum(1 for o in outcomes if o.group == GROUP_BLINKING)
        cache.set_many({keys[s.id]: out[s.id] for s in stale}, _COUNTS_CACHE_SECONDS)
    return out
