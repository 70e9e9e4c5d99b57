"""Counts and agreement without building cards: session_summary, session_agreement and the dashboard's
cached sessions_blinking_counts."""
from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Max, Q

from sessions_app.models import Photo, PhotoSession

from ..models import Correction, Prediction, Verdict
from .cards import _VERDICT_GROUP, GROUP_BLINKING, GROUP_KEYS, GROUP_NO_FACE, PhotoCard
from .labels import _build_card, _stacks, _strictness, thresholds_for
from .loading import _corrections, predictions_that_count

logger = logging.getLogger(__name__)


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
    predicted = predictions_that_count(Q(photo__session_id__in=session_ids)).values_list(
        "photo_id", "id", "verdict", "confidence", "reason", "details", "model_version_id")
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
