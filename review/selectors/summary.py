"""Counts and agreement without building cards: session_summary, session_agreement, the dashboard's
cached sessions_counts (sessions_blinking_counts is its blinking column) and the session page's group counts."""
from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Count, Max

from classifier import selectors as classifier_selectors
from classifier.models import Correction
from sessions_app.models import Photo, PhotoSession

from .cards import GROUP_BLINKING, GROUP_KEYS, GROUP_NO_FACE, PhotoCard, counts_of
from .outcomes import Outcome, prediction_fingerprints, sessions_outcomes

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Agreement:
    """How the model did, counted only over the photos the photographer looked at or decided: a photo
    nobody opened says nothing about whether the model was right."""

    total: int  # judged photos (done, with a prediction)
    flagged: int  # of the looked-at photos, the machine alone rejects (any check, at the session's strictness)
    kept: int  # ... and the photographer kept them
    missed: int  # of the looked-at photos, the machine kept one and the photographer rejected it
    corrected: int  # photos with a photographer's decision (including ones that agree)
    looked: int = 0  # photos looked at (loupe, lightbox) or decided
    flagged_total: int = 0  # every photo the machine flagged, looked at or not

    @property
    def disagreements(self) -> int:
        return self.kept + self.missed

    @property
    def agreement_percent(self) -> int | None:
        if not self.reviewed:
            return None
        return round(100 * (self.looked - self.disagreements) / self.looked)

    @property
    def reviewed(self) -> bool:
        """The photographer has looked at (or decided) at least one photo: only then is there agreement."""
        return self.looked > 0

    @property
    def sentence(self) -> str:
        """'You looked at 47 of 600; of those the model flagged 5, you kept 2; 1 blink was missed.'"""
        if not self.total:
            return "Nothing judged yet."
        if not self.reviewed:
            # Without a look "you kept 0, no blink was missed" would claim a review that never happened.
            flagged = str(self.flagged_total) if self.flagged_total else "nothing"
            return f"Not reviewed yet: {flagged} flagged by the model."
        head = f"You looked at {self.looked} of {self.total}; of those"
        if self.flagged:
            head += f" the model flagged {self.flagged} and you kept {self.kept}"
        else:
            head += " the model flagged none"
        if self.missed == 0:
            tail = "no reject was missed"
        elif self.missed == 1:
            tail = "1 reject was missed"
        else:
            tail = f"{self.missed} rejects were missed"
        return f"{head}; {tail}."


# --- Counting without cards (dashboard, progress panel, session page, after a correction) ------------------
# Counts and agreement only need each photo's outcome (see `outcomes`): no model instances, eye cards or
# reason sentences, and the machine's part comes from a cache that a correction doesn't invalidate.


@dataclass(frozen=True)
class SessionSummary:
    """Group counts and agreement of one session, without building its cards."""

    counts: dict[str, int]  # see counts_of (the same dict as Groups.counts)
    agreement: Agreement

    @property
    def group_counts(self) -> list[tuple[str, int]]:
        """(group key, photos in that review group), in the review's order."""
        return [(key, self.counts["no_face_group"] if key == GROUP_NO_FACE else self.counts[key]) for key in GROUP_KEYS]


def session_summary(*, session: PhotoSession) -> SessionSummary:
    """What the session page, its polled progress panel and a correction's answer show: counts and agreement."""
    result = sessions_outcomes([session.id], {session.id: classifier_selectors.session_strictness(session)})[session.id]
    return SessionSummary(counts=counts_of(result.outcomes, result.pending),
                          agreement=agreement_from_cards(result.outcomes))


def session_agreement(*, session: PhotoSession) -> Agreement:
    """How the model did against the photographer: 'of 37 flagged you kept 2; 1 blink was missed'."""
    return session_summary(session=session).agreement


def agreement_from_cards(cards: Iterable[PhotoCard | Outcome]) -> Agreement:
    """Agreement over outcomes (their `looked` says what was reviewed); a card counts as looked at when decided."""
    total = flagged = kept = missed = corrected = looked = flagged_total = 0
    for card in cards:
        if card.unreadable:
            continue
        total += 1
        machine_reject, reject = _rejects(card)
        # A light row's `corrected` already counts a decided flag; a card says it in `decided_anything`.
        decided = card.corrected if isinstance(card, Outcome) else card.decided_anything
        corrected += decided
        flagged_total += machine_reject
        if not (card.looked if isinstance(card, Outcome) else decided):
            continue
        looked += 1
        if machine_reject:
            flagged += 1
            kept += not reject
        elif reject:
            missed += 1
    return Agreement(total=total, flagged=flagged, kept=kept, missed=missed, corrected=corrected, looked=looked,
                     flagged_total=flagged_total)


def _rejects(card: PhotoCard | Outcome) -> tuple[bool, bool]:
    """(the machine alone rejects it, it is rejected as things stand): the outcome's own reading, every
    check included, so "keep anyway" on a blink and a missed soft photo both count as disagreements."""
    if isinstance(card, Outcome):
        return card.machine_rejected, card.rejected
    if card.outcome is None:
        return False, False
    return card.outcome.machine_rejected, card.outcome.rejected


# Bump when the judging rules change, so a shared cache (Redis) doesn't serve counts from the old rules.
_COUNTS_CACHE_VERSION = 3  # 2: every group's count (the check group came); 3: every check's strictness
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
    predictions = prediction_fingerprints(session_ids)  # the same one the outcomes cache is keyed by
    corrections = {
        row[0]: row[1:]
        for row in Correction.objects.filter(photo__session_id__in=session_ids).order_by()
        .values_list("photo__session_id").annotate(n=Count("id"), top=Max("id"))
    }
    return {
        sid: (tuple(photos.get(sid, ())), predictions[sid], corrections.get(sid, ()))
        for sid in session_ids
    }


def _blinking_cache_key(session: PhotoSession, fingerprint: tuple) -> str:
    strictness = sorted(classifier_selectors.session_strictness(session).items())  # every check's slider
    digest = hashlib.sha1(repr((strictness, fingerprint)).encode()).hexdigest()
    return f"eyespy:counts:v{_COUNTS_CACHE_VERSION}:{session.id}:{digest}"


def sessions_counts(*, sessions: Sequence[PhotoSession]) -> dict[int, dict[str, int]]:
    """Per session id, the review's group counts (`counts_of`, the same dict session_summary gives), each
    at its own strictness: what the dashboard shows.

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
        judged = sessions_outcomes([s.id for s in stale],
                                   {s.id: classifier_selectors.session_strictness(s) for s in stale})
        for session in stale:
            result = judged[session.id]
            out[session.id] = counts_of(result.outcomes, result.pending)
        cache.set_many({keys[s.id]: out[s.id] for s in stale}, _COUNTS_CACHE_SECONDS)
    return out


def sessions_blinking_counts(*, sessions: Sequence[PhotoSession]) -> dict[int, int]:
    """Effective BLINKING photos per session id, each at its own strictness (`sessions_counts`' blinking)."""
    return {sid: counts[GROUP_BLINKING] for sid, counts in sessions_counts(sessions=sessions).items()}


# --- The session page's groups (moved from sessions_app.selectors: the progress panel polls it) -------


@dataclass(frozen=True)
class GroupCounts:
    blinking: int
    not_blinking: int
    no_face: int
    unreadable: int
    check: int = 0  # the "check these" group: the machine is unsure, nobody decided yet

    @property
    def total(self) -> int:
        return self.check + self.blinking + self.not_blinking + self.no_face + self.unreadable


def session_group_counts(*, session: PhotoSession, summary: SessionSummary | None = None) -> GroupCounts:
    """CHECK THESE / BLINKING / NOT BLINKING / NO FACE / UNREADABLE counts for the session page.

    From session_summary (corrections and the session's strictness applied, without building review
    cards: the progress panel polls this), or `summary` when the caller already has it.
    """
    counts = (summary or session_summary(session=session)).counts
    return GroupCounts(
        blinking=counts["blinking"],
        not_blinking=counts["not_blinking"],
        no_face=counts["no_face"],
        unreadable=counts["unreadable"],
        check=counts["check"],
    )
