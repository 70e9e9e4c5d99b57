"""A photo's outcome: the one rule that turns its checks' states and the photographer's decisions into
reject / check / keeper / no face / unreadable, with every reason in force.

Pure (no database): the review's card builder gives each check's state on this photo (the photographer's
word on that flag, else the machine's finding at the session's strictness) and the whole-photo decision;
review, counts, exports, galleries, training and agreement all read the result (`PhotoOutcome`).

The rules:
* unreadable: the file could not be analysed; nothing else applies.
* A whole-photo decision ("keep anyway", "reject", "no face") decides, unless a decision on a flag (the
  photo's or a face's) is newer: then the flags decide, as the photographer's latest word.
* Else: any rejecting flag in force -> reject (every firing reason listed, decided ones first); else a
  flag the machine is unsure of and nobody decided -> check; else a photo no check applies to (no face and
  no photo-level check) -> no face; else keeper. Flags that only note (rejects=False) never move a photo:
  they show as notes.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

REJECT, CHECK, KEEPER, NO_FACE, UNREADABLE = "reject", "check", "keeper", "no_face", "unreadable"
KINDS = (CHECK, REJECT, KEEPER, NO_FACE, UNREADABLE)
# A flag's state on one photo; the CSV's flag_<key> columns print yes / no / check and "" (doesn't apply).
YES, NO, UNSURE, NOT_APPLICABLE = "yes", "no", "check", ""
WHOLE_PHOTO_KINDS = {"keep": KEEPER, "reject": REJECT, "no_face": NO_FACE}


@dataclass(frozen=True)
class FlagState:
    """One check on one photo."""

    key: str
    title: str
    rejects: bool
    state: str  # YES / NO / UNSURE / NOT_APPLICABLE
    sentence: str = ""  # why (the machine's sentence, or the photographer's word)
    check_reasons: tuple[str, ...] = ()
    decided_at: datetime | None = None  # when the photographer last decided this flag (photo or face)
    machine_flagged: bool = False  # what the machine alone said (unsure ones by their reading): agreement
    keywords: tuple[str, ...] = ()  # the finding's own extra XMP keywords (Finding.keywords)


    @property
    def decided(self) -> bool:
        return self.decided_at is not None


@dataclass(frozen=True)
class WholePhoto:
    """The photographer's whole-photo decision in force."""

    value: str  # keep / reject / no_face
    at: datetime
    words: str  # what they said, e.g. "keep anyway"


@dataclass(frozen=True)
class PhotoOutcome:
    kind: str
    reasons: tuple[str, ...] = ()
    flags: tuple[FlagState, ...] = field(default=())
    notes: tuple[str, ...] = ()  # flagged checks that don't reject
    decided: bool = False  # the photographer's word decided it

    def flag(self, key: str) -> FlagState | None:
        return next((f for f in self.flags if f.key == key), None)

    @property
    def machine_rejected(self) -> bool:
        """The machine alone would reject it: a rejecting check read it flagged (sure or not)."""
        return any(f.rejects and f.machine_flagged for f in self.flags)

    @property
    def rejected(self) -> bool:
        """Rejected as things stand: a reject, or still to check and the machine's reading rejects it.
        What agreement compares with `machine_rejected` (a "keep anyway" on a blink disagrees)."""
        return self.kind == REJECT or (self.kind == CHECK and self.machine_rejected)

    @property
    def rejected_by(self) -> tuple[str, ...]:
        """Keys of the rejecting flags in force (the "Rejects" group's breakdown)."""
        return tuple(f.key for f in self.flags if f.rejects and f.state == YES) if self.kind == REJECT else ()


def outcome_of(*, flags: Sequence[FlagState], whole_photo: WholePhoto | None = None, unreadable: str = "") -> PhotoOutcome:
    """The outcome (see the module's rules). `unreadable`: the reason the file could not be read, or ""."""
    if unreadable:
        return PhotoOutcome(kind=UNREADABLE, reasons=(unreadable,))
    flags = tuple(flags)
    notes = tuple(f.sentence for f in flags if not f.rejects and f.state == YES and f.sentence)
    newest_flag = max((f.decided_at for f in flags if f.decided_at is not None), default=None)
    if whole_photo is not None and (newest_flag is None or whole_photo.at >= newest_flag):
        return PhotoOutcome(kind=WHOLE_PHOTO_KINDS[whole_photo.value], reasons=(f"your call: {whole_photo.words}",),
                            flags=flags, notes=notes, decided=True)
    firing = sorted((f for f in flags if f.rejects and f.state == YES), key=lambda f: not f.decided)
    if firing:
        return PhotoOutcome(kind=REJECT, reasons=tuple(f.sentence for f in firing), flags=flags, notes=notes,
                            decided=any(f.decided for f in firing))
    unsure = [f for f in flags if f.state == UNSURE]
    if unsure:
        return PhotoOutcome(kind=CHECK, reasons=tuple(r for f in unsure for r in (f.check_reasons or (f.sentence,))),
                            flags=flags, notes=notes)
    if all(f.state == NOT_APPLICABLE for f in flags):
        return PhotoOutcome(kind=NO_FACE, reasons=tuple(f.sentence for f in flags if f.sentence)[:1] or ("no face found",),
                            flags=flags, notes=notes, decided=newest_flag is not None)
    return PhotoOutcome(kind=KEEPER, reasons=tuple(f.sentence for f in flags if f.state == NO and f.sentence)[:1],
                        flags=flags, notes=notes, decided=newest_flag is not None)
