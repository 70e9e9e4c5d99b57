"""The review groups of a session: sorting, the Groups the review page shows, and the strictness preview."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sessions_app.models import PhotoSession

from .cards import GROUP_BLINKING, GROUP_KEYS, GROUP_NO_FACE, GROUP_NOT_BLINKING, GROUP_TITLES, PhotoCard
from .labels import _strictness, thresholds_for
from .loading import _load_session

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


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


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
