"""Every photo of a session in one light row each (its group, the machine's verdict and confidence), without
building cards: what counts, agreement, the lightbox's previous/next and the dashboard need.

The machine's part of a photo's outcome depends only on the prediction that counts and the strictness,
so it is judged once (`ml.judgement` over the stored JSON, with its check flag, the slow part: ~50 µs a photo) and cached under a
fingerprint of the session's predictions: a correction, the thing a photographer does a hundred times a
session, never re-judges the other 599 photos. Corrections are read fresh on every call and applied
through `_build_card`, so the effective-label rules stay in `labels`.
"""
from __future__ import annotations

import hashlib
import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from django.core.cache import cache
from django.db.models import Q

from classifier import selectors as classifier_selectors
from classifier.selectors import prediction_fingerprints, predictions_that_count
from classifier.models import Correction, Verdict
from sessions_app.models import Photo

from .cards import GROUP_BLINKING, GROUP_NO_FACE, group_of
from .labels import _build_card, correction_stacks, flag_stacks, stored_check_reasons, whole_photo_group

logger = logging.getLogger(__name__)

BLINKING = Verdict.BLINKING.value

# Bump when the judging rules change, so a shared cache (Redis) doesn't serve outcomes from the old rules.
_CACHE_VERSION = 3  # 2: the machine part carries the check flag; 3: and whether other checks were stored
_CACHE_SECONDS = 24 * 3600


class Outcome(NamedTuple):
    """One judged (or unreadable) photo, as the review groups it. A tuple: a session makes 600 per request."""

    photo_id: int
    photo_uuid: uuid.UUID | None  # not read here (see groups.session_neighbours); filename / capture time when asked
    filename: str
    taken_at: datetime | None
    group: str
    verdict: str | None  # effective Verdict value; None: unreadable
    machine_verdict: str | None
    confidence: float | None  # the machine's
    corrected: bool
    looked: bool = False  # the photographer looked at it (loupe, lightbox) or decided it at some point
    rejected: bool = False  # review.outcome.PhotoOutcome.rejected: agreement compares these two
    machine_rejected: bool = False

    @property
    def unreadable(self) -> bool:
        return self.verdict is None


class _PhotoRow(NamedTuple):
    id: int
    status: str
    seen: bool
    uuid: uuid.UUID | None = None
    filename: str = ""
    taken_at: datetime | None = None


@dataclass(frozen=True)
class SessionOutcomes:
    outcomes: list[Outcome]  # by photo id
    pending: int  # queued or processing


def _machine_outcome(row: tuple, thresholds) -> tuple[str, float, int, bool, bool]:
    """(verdict, confidence, model version id, needs a check, other checks stored) of one prediction row,
    the eyes re-judged at `thresholds` (the same reading as `labels._machine_view`, without the per-face
    part). A photo with other checks' details gets its full card (their findings decide too)."""
    from ml.verdict import judgement  # classifier is the one app that imports ml

    pk, stored_verdict, stored_confidence, details, model_version_id = row
    faces = [f for f in (details or {}).get("faces") or [] if isinstance(f, dict)]
    others = len(classifier_selectors.stored_details(details)) > 1
    try:
        judged = judgement(faces, thresholds)
        return judged.verdict.value, float(judged.confidence), model_version_id, judged.needs_check, others
    except (TypeError, ValueError, KeyError, AttributeError):
        logger.warning("could not re-judge prediction %s; using its stored verdict", pk, exc_info=True)
        return (stored_verdict, float(stored_confidence), model_version_id, bool(stored_check_reasons(details)),
                others)


def _cache_key(session_id: int, thresholds, fingerprint: tuple) -> str:
    digest = hashlib.sha1(repr((thresholds, fingerprint)).encode()).hexdigest()
    return f"eyespy:outcomes:v{_CACHE_VERSION}:{session_id}:{digest}"


def _machine_outcomes(session_ids: list[int], thresholds_by_session: dict[int, object]) -> dict[int, dict]:
    """Session id -> {photo id: (verdict, confidence, model version id, needs a check)}, from the cache where it is fresh."""
    fingerprints = prediction_fingerprints(session_ids)
    keys = {sid: _cache_key(sid, thresholds_by_session[sid], fingerprints[sid]) for sid in session_ids}
    cached = cache.get_many(list(keys.values()))
    out = {sid: cached[keys[sid]] for sid in session_ids if keys[sid] in cached}
    stale = [sid for sid in session_ids if sid not in out]
    if stale:
        rows = predictions_that_count(Q(photo__session_id__in=stale)).values_list(
            "photo__session_id", "photo_id", "id", "verdict", "confidence", "details", "model_version_id")
        fresh: dict[int, dict] = {sid: {} for sid in stale}
        for session_id, photo_id, *row in rows:
            per_photo = fresh[session_id]
            if photo_id not in per_photo:  # the first row per photo is the one that counts
                per_photo[photo_id] = _machine_outcome(tuple(row), thresholds_by_session[session_id])
        cache.set_many({keys[sid]: fresh[sid] for sid in stale}, _CACHE_SECONDS)
        out.update(fresh)
    return out


def machine_outcomes_prime(session_id: int, thresholds, fingerprint: tuple, cards: Iterable) -> None:
    """Fill the machine part's cache from cards just built (the review page builds every card anyway), so
    the counts that follow don't judge the whole session a second time on a cold cache. `fingerprint` must
    be read before the cards' predictions were: a prediction written in between then only makes it stale."""
    machine = {
        card.photo.id: (card.machine_verdict, float(card.confidence), card.model_version_id, bool(card.check_reasons),
                        len(card.outcome.flags) > 1)
        for card in cards
        if card.model_version_id is not None and card.photo.status == Photo.Status.DONE
    }
    cache.add(_cache_key(session_id, thresholds, fingerprint), machine, _CACHE_SECONDS)


def _photo_rows(session_ids: list[int], *, with_names: bool, with_times: bool) -> dict[int, list[_PhotoRow]]:
    # Counting needs only ids and statuses; ordering needs file names, and capture times only for the time
    # sort. Uuids and datetimes cost a converter call per row (~20 µs each): read them only when asked.
    extra = (["original_filename"] if with_names else []) + (["taken_at"] if with_times else [])
    fields = ["session_id", "id", "status", "seen", *extra]
    rows: dict[int, list[_PhotoRow]] = defaultdict(list)
    for session_id, pk, status, seen, *rest in (
        Photo.objects.filter(session_id__in=session_ids).order_by("id").values_list(*fields)
    ):
        values = dict(zip(extra, rest))
        rows[session_id].append(_PhotoRow(pk, status, seen, None, values.get("original_filename", ""),
                                          values.get("taken_at")))
    return rows


def _full_cards(session_ids: list[int], photo_ids: set[int], stacks, flags, thresholds_by_session) -> dict[int, object]:
    """Cards of the done photos that need more than their eye verdict and its stack: a per-face correction in
    force (the photo follows its faces, ml's rule), or other checks stored or decided (their findings decide
    too). A photo decided as a whole reads its label off its stack instead.

    At most one query, whatever the session's size.
    """
    if not photo_ids:
        return {}
    rows = (
        predictions_that_count(Q(photo_id__in=photo_ids, photo__session_id__in=session_ids,
                                 photo__status=Photo.Status.DONE))
        .select_related("photo", "photo__session")
        .only("id", "photo_id", "verdict", "confidence", "reason", "details", "model_version_id",
              "photo__id", "photo__session_id", "photo__status", "photo__error", "photo__uuid",
              "photo__original_filename", "photo__session__id", "photo__session__strictness",
              "photo__session__check_strictness")
    )
    cards: dict[int, object] = {}
    contexts: dict[int, dict] = {}
    for prediction in rows:
        if prediction.photo_id not in cards:  # the first row per photo is the one that counts
            photo = prediction.photo
            if photo.session_id not in contexts:
                contexts[photo.session_id] = classifier_selectors.session_contexts(photo.session_id)
            cards[photo.id] = _build_card(photo, prediction, stacks, thresholds_by_session[photo.session_id], flags,
                                          contexts[photo.session_id].get(photo.id))
    return cards


def sessions_outcomes(
    session_ids: Iterable[int], thresholds_by_session: dict[int, object], *, with_names: bool = False,
    with_times: bool = False,
) -> dict[int, SessionOutcomes]:
    """The outcomes of several sessions, each at its own thresholds; five queries at most whatever their size.

    The label of a photo decided as a whole is the top of its stack (`labels._build_card`'s rule, read
    without building the card); only photos with a per-face correction in force are built in full.
    """
    session_ids = list(session_ids)
    if not session_ids:
        return {}
    photos = _photo_rows(session_ids, with_names=with_names, with_times=with_times)
    machine = _machine_outcomes(session_ids, thresholds_by_session)
    # Who corrected is not needed for counting: no user rows.
    corrections = list(Correction.objects.filter(photo__session_id__in=session_ids)
                       .only("id", "photo_id", "face_index", "flag", "value", "label", "undoes_id", "created_at")
                       .order_by("created_at", "id"))
    stacks, flags = correction_stacks(corrections), flag_stacks(corrections)
    full = ({photo_id for (photo_id, face), stack in stacks.items() if face is not None and stack}
            | {photo_id for (photo_id, _flag), stack in flags.items() if stack}
            | {photo_id for per_photo in machine.values() for photo_id, judged in per_photo.items() if judged[4]})
    cards = _full_cards(session_ids, full, stacks, flags, thresholds_by_session)
    decided = {c.photo_id for c in corrections}  # any correction, even one taken back since
    out = {}
    for sid in session_ids:
        outcomes, pending = [], 0
        for row in photos.get(sid, ()):
            if not row.seen and row.id in decided:
                row = row._replace(seen=True)
            if row.status == Photo.Status.FAILED:
                outcomes.append(_outcome(row, GROUP_NO_FACE, None, None, None, False))
            elif row.status != Photo.Status.DONE:
                pending += 1
            elif (card := cards.get(row.id)) is not None:
                outcomes.append(_outcome(row, card.group, card.verdict, card.machine_verdict, card.confidence,
                                         card.decided_anything, card.outcome.rejected, card.outcome.machine_rejected))
            elif (judged := machine[sid].get(row.id)) is None:
                outcomes.append(_outcome(row, GROUP_NO_FACE, None, None, None, False))  # no analysis stored
            else:
                verdict, confidence, _, needs_check, _others = judged
                machine_rejected = verdict == BLINKING  # the eyes are the only check here (others: full cards)
                if fixes := stacks.get((row.id, None)):  # decided as a whole: the latest word in force
                    if (group := whole_photo_group(fixes[-1])) is not None:  # keep anyway / reject
                        outcomes.append(_outcome(row, group, verdict, verdict, confidence, True,
                                                 group == GROUP_BLINKING, machine_rejected))
                        continue
                    label = fixes[-1].label
                    outcomes.append(_outcome(row, group_of(label, to_check=False), label, verdict, confidence, True,
                                             label == BLINKING, machine_rejected))
                else:
                    outcomes.append(_outcome(row, group_of(verdict, to_check=needs_check), verdict, verdict,
                                             confidence, False, machine_rejected, machine_rejected))
        out[sid] = SessionOutcomes(outcomes=outcomes, pending=pending)
    return out


def _outcome(row: _PhotoRow, group, verdict, machine_verdict, confidence, corrected, rejected=False,
             machine_rejected=False) -> Outcome:
    return Outcome(photo_id=row.id, photo_uuid=row.uuid, filename=row.filename, taken_at=row.taken_at,
                   group=group, verdict=verdict, machine_verdict=machine_verdict, confidence=confidence,
                   corrected=corrected, looked=row.seen, rejected=rejected, machine_rejected=machine_rejected)
