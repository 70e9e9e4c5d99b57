"""review.outcome: the one rule from checks' states and decisions to reject / check / keeper / no face / unreadable."""
from __future__ import annotations

from datetime import datetime, timedelta

from review.outcome import (
    CHECK, KEEPER, NO, NO_FACE, NOT_APPLICABLE, REJECT, UNREADABLE, UNSURE, YES, FlagState, WholePhoto, outcome_of,
)

T0 = datetime(2026, 12, 7, 9, 0)


def blink(state: str, sentence: str = "main face: left eye closed (0.97)", *, at: datetime | None = None,
          reasons: tuple[str, ...] = ()) -> FlagState:
    return FlagState("blink", "Closed eyes", True, state, sentence, reasons, at)


def framing(state: str) -> FlagState:
    return FlagState("framing", "Framing", False, state, "head cut at the top")


def focus(state: str, *, at: datetime | None = None) -> FlagState:
    return FlagState("focus", "Focus", True, state, "eyes soft: 0.31 of the sharpest", (), at)


def test_any_rejecting_flag_rejects_with_every_reason_decided_first():
    outcome = outcome_of(flags=[blink(YES), focus(YES, at=T0)])
    assert outcome.kind == REJECT and outcome.decided
    assert outcome.reasons == ("eyes soft: 0.31 of the sharpest", "main face: left eye closed (0.97)")
    assert outcome.rejected_by == ("blink", "focus")


def test_an_unsure_flag_nobody_decided_goes_to_check():
    outcome = outcome_of(flags=[blink(UNSURE, "1 face, all eyes open", reasons=("near the cut-off (48% open)",)),
                                focus(NO)])
    assert outcome.kind == CHECK and outcome.reasons == ("near the cut-off (48% open)",)
    assert outcome_of(flags=[blink(NO, at=T0), focus(NO)]).kind == KEEPER


def test_notes_never_move_a_photo():
    outcome = outcome_of(flags=[blink(NO, "1 face, all eyes open"), framing(YES)])
    assert outcome.kind == KEEPER and outcome.notes == ("head cut at the top",)
    assert outcome.flag("framing").state == YES


def test_no_check_applies_is_no_face_and_unreadable_stands_alone():
    assert outcome_of(flags=[blink(NOT_APPLICABLE, "no face found")]).kind == NO_FACE
    assert outcome_of(flags=[blink(NOT_APPLICABLE, "no face found"), framing(NO)]).kind == KEEPER
    broken = outcome_of(flags=[], unreadable="corrupt JPEG file")
    assert broken.kind == UNREADABLE and broken.reasons == ("corrupt JPEG file",)


def test_a_whole_photo_decision_wins_unless_a_flag_was_decided_after_it():
    keep = WholePhoto("keep", T0, "keep anyway")
    outcome = outcome_of(flags=[blink(YES, at=T0 - timedelta(minutes=1))], whole_photo=keep)
    assert outcome.kind == KEEPER and outcome.reasons == ("your call: keep anyway",) and outcome.decided
    later = outcome_of(flags=[blink(YES, "blinking, your call", at=T0 + timedelta(minutes=1))], whole_photo=keep)
    assert later.kind == REJECT and later.reasons == ("blinking, your call",)
    assert outcome_of(flags=[blink(NO)], whole_photo=WholePhoto("reject", T0, "reject")).kind == REJECT
    assert outcome_of(flags=[blink(NO)], whole_photo=WholePhoto("no_face", T0, "no face")).kind == NO_FACE
