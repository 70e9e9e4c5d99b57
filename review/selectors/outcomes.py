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
from classifier.selectors import EYES, prediction_fingerprints, predictions_that_count
from classifier.models import Correction
from sessions_app.models import Photo

from .cards import GROUP_NO_FACE, GROUP_OF_OUTCOME
from .labels import (
    KEEP_OR_REJECT,
    _build_card,
    correction_stacks,
    flag_stacks,
    machine_flag_states,
    outcome_from,
    stored_check_reasons,
    thresholds_for,
)

logger = logging.getLogger(__name__)

# Bump when the judging rules change, so a shared cache (Redis) doesn't serve outcomes from the old rules.
_CACHE_VERSION = 5  # 2: the check flag; 3: other checks stored; 4: their states; 5: their keywords
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


Strictness = dict[str, float]  # check key -> 0..1 (classifier.selectors.session_strictness)


def _machine_outcome(row: tuple, strictness: Strictness, context: dict | None) -> tuple:
    """(verdict, confidence, model version id, needs a check, other checks' machine states) of one prediction
    row: the eyes re-judged at the session's eye strictness (the reading of `labels._machine_view` without the
    per-face part) and every other check as `labels.machine_flag_states` reads it."""
    from ml.verdict import in_session, judgement

    pk, stored_verdict, stored_confidence, details, model_version_id = row
    faces = [f for f in (details or {}).get("faces") or [] if isinstance(f, dict)]
    others = machine_flag_states(details, strictness, context)
    try:
        thresholds = thresholds_for(strictness[EYES])
        judged = in_session(judgement(faces, thresholds), faces, ((context or {}).get(EYES) or {}).get("faces"),
                            thresholds.strictness, thresholds)
        return judged.verdict.value, float(judged.confidence), model_version_id, judged.needs_check, others
    except (TypeError, ValueError, KeyError, AttributeError):
        logger.warning("could not re-judge prediction %s; using its stored verdict", pk, exc_info=True)
        return (stored_verdict, float(stored_confidence), model_version_id, bool(stored_check_reasons(details)),
                others)


def _cache_key(session_id: int, strictness: Strictness, fingerprint: tuple) -> str:
    checks = tuple((c["key"], c["schema"]) for c in classifier_selectors.checks())  # a new check: judge again
    digest = hashlib.sha1(repr((sorted(strictness.items()), checks, fingerprint)).encode()).hexdigest()
    return f"eyespy:outcomes:v{_CACHE_VERSION}:{session_id}:{digest}"


def _machine_outcomes(session_ids: list[int], strictness_by_session: dict[int, Strictness],
                      fingerprints: dict[int, tuple]) -> dict[int, dict]:
    """Session id -> {photo id: `_machine_outcome`}, from the cache where it is fresh."""
    keys = {sid: _cache_key(sid, strictness_by_session[sid], fingerprints[sid]) for sid in session_ids}
    cached = cache.get_many(list(keys.values()))
    out = {sid: cached[keys[sid]] for sid in session_ids if keys[sid] in cached}
    stale = [sid for sid in session_ids if sid not in out]
    if stale:
        rows = predictions_that_count(Q(photo__session_id__in=stale)).values_list(
            "photo__session_id", "photo_id", "photo__status", "photo__original_filename", "id", "verdict",
            "confidence", "details", "model_version_id")
        counted: dict[int, dict[int, tuple]] = {sid: {} for sid in stale}
        names: dict[int, str] = {}
        for session_id, photo_id, status, name, *row in rows:
            counted[session_id].setdefault(photo_id, (status, tuple(row)))  # the first row per photo counts
            names[photo_id] = name
        fresh: dict[int, dict] = {}
        for sid, per_photo in counted.items():
            # The session steps read the same rows (done photos only, as classifier.session_contexts does).
            done = {pid: row[3] for pid, (status, row) in per_photo.items() if status == Photo.Status.DONE}
            contexts = classifier_selectors.contexts_from_details(sid, fingerprints[sid], done, names,
                                                                  strictness_by_session[sid])
            fresh[sid] = {pid: _machine_outcome(row, strictness_by_session[sid], contexts.get(pid))
                          for pid, (_status, row) in per_photo.items()}
        cache.set_many({keys[sid]: fresh[sid] for sid in stale}, _CACHE_SECONDS)
        out.update(fresh)
    return out


def machine_outcomes_prime(session_id: int, strictness: Strictness, fingerprint: tuple, cards: Iterable) -> None:
    """Fill the machine part's cache from cards just built (the review page builds every card anyway), so
    the counts that follow don't judge the whole session a second time on a cold cache. `fingerprint` must
    be read before the cards' predictions were: a prediction written in between then only makes it stale."""
    machine = {
        card.photo.id: (card.machine_verdict, float(card.confidence), card.model_version_id, bool(card.check_reasons),
                        card.machine_others)
        for card in cards
        if card.model_version_id is not None and card.photo.status == Photo.Status.DONE
    }
    cache.add(_cache_key(session_id, strictness, fingerprint), machine, _CACHE_SECONDS)


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


def _full_cards(session_ids: list[int], photo_ids: set[int], stacks, flags, strictness_by_session,
                fingerprints: dict[int, tuple]) -> dict[int, object]:
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
                contexts[photo.session_id] = classifier_selectors.session_contexts(  # cached by the machine part
                    photo.session_id, fingerprints[photo.session_id], strictness_by_session[photo.session_id])
            cards[photo.id] = _build_card(photo, prediction, stacks,
                                          thresholds_for(strictness_by_session[photo.session_id][EYES]), flags,
                                          contexts[photo.session_id].get(photo.id))
    return cards


def sessions_outcomes(
    session_ids: Iterable[int], strictness_by_session: dict[int, Strictness], *, with_names: bool = False,
    with_times: bool = False,
) -> dict[int, SessionOutcomes]:
    """The outcomes of several sessions, each at its own strictness per check; a few queries whatever their size.

    A photo is judged from its cached machine part and its decisions through `labels.outcome_from`, the
    cards' own rule, without building its card; only photos with a per-face correction in force are built
    in full (the photo follows its faces).
    """
    session_ids = list(session_ids)
    if not session_ids:
        return {}
    photos = _photo_rows(session_ids, with_names=with_names, with_times=with_times)
    fingerprints = prediction_fingerprints(session_ids)
    machine = _machine_outcomes(session_ids, strictness_by_session, fingerprints)
    # Who corrected is not needed for counting: no user rows.
    corrections = list(Correction.objects.filter(photo__session_id__in=session_ids)
                       .only("id", "photo_id", "face_index", "flag", "value", "label", "undoes_id", "created_at")
                       .order_by("created_at", "id"))
    stacks, flags = correction_stacks(corrections), flag_stacks(corrections)
    decided_flags: dict[int, dict[str, Correction]] = defaultdict(dict)
    for (photo_id, flag), stack in flags.items():
        if stack:
            decided_flags[photo_id][flag] = stack[-1]
    full = {photo_id for (photo_id, face), stack in stacks.items() if face is not None and stack}
    cards = _full_cards(session_ids, full, stacks, flags, strictness_by_session, fingerprints)
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
                outcomes.append(_light_outcome(row, judged, stacks.get((row.id, None)), decided_flags.get(row.id, {})))
        out[sid] = SessionOutcomes(outcomes=outcomes, pending=pending)
    return out


def _light_outcome(row: _PhotoRow, judged: tuple, fixes: list[Correction] | None,
                   decided: dict[str, Correction]) -> Outcome:
    """A photo with no per-face correction in force: `_build_card`'s rule for whole-photo decisions, read
    from the cached machine part without building the card."""
    verdict, confidence, _, needs_check, others = judged
    fix = fixes[-1] if fixes else None
    label = verdict if fix is None or fix.decision in KEEP_OR_REJECT else fix.label
    result = outcome_from(verdict=label, reason="", decided_by=fix, machine_verdict=verdict,
                          check_reasons=("unsure",) if needs_check else (), others=others, decided=decided)
    return _outcome(row, GROUP_OF_OUTCOME[result.kind], label, verdict, confidence, fix is not None or bool(decided),
                    result.rejected, result.machine_rejected)


def _outcome(row: _PhotoRow, group, verdict, machine_verdict, confidence, corrected, rejected=False,
             machine_rejected=False) -> Outcome:
    return Outcome(photo_id=row.id, photo_uuid=row.uuid, filename=row.filename, taken_at=row.taken_at,
                   group=group, verdict=verdict, machine_verdict=machine_verdict, confidence=confidence,
                   corrected=corrected, looked=row.seen, rejected=rejected, machine_rejected=machine_rejected)
