"""The review groups of a session: sorting, the Groups the review page shows, and the strictness preview."""
from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from classifier import selectors as classifier_selectors
from classifier.selectors import EYES
from sessions_app.models import Photo, PhotoSession

from .cards import (
    GROUP_BLINKING,
    GROUP_CHECK,
    GROUP_KEYS,
    GROUP_NOT_BLINKING,
    GROUP_SHORTCUTS,
    GROUP_TITLES,
    PhotoCard,
    counts_of,
)
from .labels import _strictness, thresholds_for
from .loading import _load_session
from .outcomes import Outcome, machine_outcomes_prime, prediction_fingerprints, sessions_outcomes

SORT_CONFIDENCE = "confidence"  # least confident first: the ones worth a look
SORT_TIME = "time"
SORT_NAME = "name"
SORTS = {SORT_CONFIDENCE: "Least confident first", SORT_TIME: "Capture time", SORT_NAME: "File name"}


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

    @property
    def shortcut(self) -> str:
        """The number key that jumps to this group (review.js reads it from the section)."""
        return GROUP_SHORTCUTS[self.key]

    @property
    def breakdown(self) -> list[tuple[str, int]]:
        """Rejects by reason: (check title, photos it rejects), in the registry's order; [] elsewhere."""
        counts: dict[str, int] = {}
        for card in self.cards:
            for flag in (card.outcome.flags if card.outcome is not None and card.outcome.rejected_by else ()):
                if flag.key in card.outcome.rejected_by:
                    counts[flag.title] = counts.get(flag.title, 0) + 1
        return list(counts.items())


@dataclass(frozen=True)
class Groups:
    strictness: float
    sort: str
    check: list[PhotoCard]  # the machine's, uncertain, undecided (see cards.group_of)
    blinking: list[PhotoCard]
    not_blinking: list[PhotoCard]
    no_face: list[PhotoCard]  # effective NO_FACE first is not promised: sorted like the others
    pending: int  # photos still queued or processing (not in any group yet)

    @property
    def counts(self) -> dict[str, int]:
        return counts_of(self.all_cards(), self.pending)

    @property
    def groups(self) -> list[Group]:
        return [Group(key, GROUP_TITLES[key], getattr(self, key)) for key in GROUP_KEYS]

    def group(self, key: str) -> Group:
        if key not in GROUP_KEYS:
            raise KeyError(key)
        return Group(key, GROUP_TITLES[key], getattr(self, key))

    @property
    def total(self) -> int:
        return len(self.all_cards())

    def all_cards(self) -> list[PhotoCard]:
        """Every card in the page's order (the groups in GROUP_KEYS order)."""
        return [card for key in GROUP_KEYS for card in getattr(self, key)]

    @property
    def flag_counts(self) -> list[tuple[str, str, int]]:
        """(check key, title, photos it flags or is unsure of), in the registry's order, for the checks that
        speak on some photo: the review's reason filter."""
        counts = Counter(key for card in self.all_cards() for key in card.flags_in_force)
        return [(c["key"], c["title"], counts[c["key"]]) for c in classifier_selectors.checks() if counts[c["key"]]]

    @property
    def subjects(self) -> list[tuple[int, int]]:
        """(subject number, photos) of the session's people, Subject 1 first: the review's subject filter."""
        counts = Counter(card.subject_number for card in self.all_cards() if card.subject_number is not None)
        return sorted(counts.items())


@dataclass(frozen=True)
class StrictnessPreview:
    current: float
    strictness: float
    to_blinking: int  # photos that would join BLINKING
    to_not_blinking: int  # photos that would join NOT BLINKING
    counts_now: dict[str, int] = field(default_factory=dict)
    counts_after: dict[str, int] = field(default_factory=dict)
    to_check: int = 0  # photos that would join CHECK THESE (near the new cut-off)

    @property
    def moved(self) -> int:
        return self.to_blinking + self.to_not_blinking + self.to_check

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
        if self.to_check:
            parts.append(f"{_n(self.to_check, 'photo')} move{'s' if self.to_check == 1 else ''} to Check these")
        return "; ".join(parts) + "."


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _card_fields(c: PhotoCard) -> tuple:
    return c.photo.original_filename, c.photo.taken_at, c.photo.id, c.confidence


def _outcome_fields(o: Outcome) -> tuple:
    return o.filename, o.taken_at, o.photo_id, o.confidence


def _sort_key(sort: str, fields=_card_fields):
    """The review's order within a group, for cards or (with `_outcome_fields`) outcomes alike."""
    if sort == SORT_TIME:
        def key(item):
            name, taken_at, pk, _ = fields(item)
            return taken_at is None, taken_at or datetime.min, name.lower(), pk
    elif sort == SORT_NAME:
        def key(item):
            name, _, pk, _ = fields(item)
            return name.lower(), pk
    else:
        # Least confident first; unreadable files (no confidence) last.
        def key(item):
            name, _, pk, confidence = fields(item)
            return confidence is None, confidence if confidence is not None else 0.0, name.lower(), pk
    return key


# --- Public reads ----------------------------------------------------------------------------------------


def session_groups(*, session: PhotoSession, strictness: float | None = None, sort: str = SORT_CONFIDENCE) -> Groups:
    """The review groups of a session, at `strictness` (default: the session's own)."""
    value = _strictness(session, strictness)
    thresholds = thresholds_for(value)
    fingerprint = prediction_fingerprints([session.id])[session.id]  # before the predictions are read
    cards, pending = _load_session(session, fingerprint).cards(thresholds)
    machine_outcomes_prime(session.id, classifier_selectors.session_strictness(session, {EYES: value}), fingerprint,
                           cards)  # the page's counts come next
    sort = sort if sort in SORTS else SORT_CONFIDENCE
    cards.sort(key=_sort_key(sort))
    by_group: dict[str, list[PhotoCard]] = {key: [] for key in GROUP_KEYS}
    for card in cards:
        by_group[card.group].append(card)
    return Groups(strictness=value, sort=sort, pending=pending, **by_group)


def session_order(*, session: PhotoSession, sort: str = SORT_CONFIDENCE) -> list[Outcome]:
    """Every judged or unreadable photo in the review page's order (the groups in turn, each sorted by
    `sort`), without building cards: what the lightbox walks with its previous/next links."""
    sort = sort if sort in SORTS else SORT_CONFIDENCE
    outcomes = sessions_outcomes([session.id], {session.id: classifier_selectors.session_strictness(session)},
                                 with_names=True,
                                 with_times=sort == SORT_TIME)[session.id].outcomes
    outcomes.sort(key=_sort_key(sort, _outcome_fields))
    rank = {key: i for i, key in enumerate(GROUP_KEYS)}
    return sorted(outcomes, key=lambda o: rank[o.group])  # stable: keeps the order within each group


@dataclass(frozen=True)
class Neighbours:
    position: int  # 1-based, in the review's order
    count: int
    prev_uuid: uuid.UUID | None
    next_uuid: uuid.UUID | None


def session_neighbours(*, session: PhotoSession, photo_id: int, sort: str = SORT_CONFIDENCE) -> Neighbours | None:
    """Where a photo stands in the review's order and who comes before and after it (None: not judged yet).
    Only the two neighbours' uuids are read: the lightbox's arrow keys need no more."""
    order = session_order(session=session, sort=sort)
    index = next((i for i, o in enumerate(order) if o.photo_id == photo_id), None)
    if index is None:
        return None
    prev_id = order[index - 1].photo_id if index > 0 else None
    next_id = order[index + 1].photo_id if index + 1 < len(order) else None
    uuids = dict(Photo.objects.filter(id__in=[i for i in (prev_id, next_id) if i]).values_list("id", "uuid"))
    return Neighbours(position=index + 1, count=len(order), prev_uuid=uuids.get(prev_id), next_uuid=uuids.get(next_id))


def session_cards(*, session: PhotoSession, strictness: float | None = None) -> list[PhotoCard]:
    """Every judged or unreadable photo of the session as a card, by file name (exports use this)."""
    cards, _ = _load_session(session).cards(thresholds_for(_strictness(session, strictness)))
    cards.sort(key=_sort_key(SORT_NAME))
    return cards


def strictness_preview(*, session: PhotoSession, strictness: float) -> StrictnessPreview:
    """How many photos would change group if the session's strictness became `strictness`.

    Photos the photographer decided don't move: their label is theirs, not the threshold's.
    """
    loaded = _load_session(session)
    now_value = _strictness(session, None)
    new_value = _strictness(session, strictness)
    now_cards, _ = loaded.cards(thresholds_for(now_value))
    new_cards, _ = loaded.cards(thresholds_for(new_value))
    joins = dict.fromkeys(GROUP_KEYS, 0)
    for before, after in zip(now_cards, new_cards, strict=True):
        if before.group != after.group:
            joins[after.group] += 1
    return StrictnessPreview(
        current=now_value,
        strictness=new_value,
        to_blinking=joins[GROUP_BLINKING],
        to_not_blinking=joins[GROUP_NOT_BLINKING],
        to_check=joins[GROUP_CHECK],
        counts_now=_group_counts(now_cards),
        counts_after=_group_counts(new_cards),
    )


def _group_counts(cards: Iterable[PhotoCard]) -> dict[str, int]:
    counts = dict.fromkeys(GROUP_KEYS, 0)
    for card in cards:
        counts[card.group] += 1
    return counts
