"""session_undo_last: "undo the last change you made here", from the append-only rows, a bulk change as one step."""
from __future__ import annotations

import pytest

from classifier.models import Correction
from review import selectors
from review.services import correction_create, corrections_bulk_create, session_undo_last
from tests.factories import make_session, make_user
from tests.review_builders import BLINK, OPEN, face, make_judged_photo

pytestmark = pytest.mark.django_db


def _verdicts(session):
    return {c.photo.original_filename: c.verdict for c in selectors.session_cards(session=session)}


def test_undo_walks_back_my_changes_newest_first_a_bulk_change_as_one_step(session, alice):
    a = make_judged_photo(session, faces=BLINK, name="A.JPG")
    b = make_judged_photo(session, faces=BLINK, name="B.JPG")
    c = make_judged_photo(session, faces=OPEN, name="C.JPG")
    correction_create(photo=c, label="BLINKING", by=alice)
    corrections_bulk_create(photos=[a, b], label="NOT_BLINKING", by=alice)
    assert _verdicts(session) == {"A.JPG": "NOT_BLINKING", "B.JPG": "NOT_BLINKING", "C.JPG": "BLINKING"}

    first = session_undo_last(session=session, by=alice)
    assert first.message == "Undone: 2 photos marked keep."
    assert first.photo_ids == sorted([a.id, b.id])
    assert _verdicts(session) == {"A.JPG": "BLINKING", "B.JPG": "BLINKING", "C.JPG": "BLINKING"}

    second = session_undo_last(session=session, by=alice)
    assert second.message == "Undone: C.JPG marked blinking."
    assert _verdicts(session)["C.JPG"] == "NOT_BLINKING"
    assert session_undo_last(session=session, by=alice) is None  # nothing of mine left
    # Append-only: 3 changes, 3 undo rows, nothing deleted.
    assert Correction.objects.count() == 6 and Correction.objects.filter(undoes__isnull=False).count() == 3


def test_undo_ignores_other_photographers_and_other_sessions(session, alice):
    other_session = make_session(alice, title="Other shoot")
    mine = make_judged_photo(session, faces=BLINK, name="MINE.JPG")
    elsewhere = make_judged_photo(other_session, faces=BLINK, name="ELSEWHERE.JPG")
    correction_create(photo=mine, label="NOT_BLINKING", by=alice)
    correction_create(photo=elsewhere, label="NOT_BLINKING", by=alice)  # newer, but another session
    assistant = make_user("assistant@example.com")
    correction_create(photo=mine, label="BLINKING", by=assistant)  # newest, but not mine

    result = session_undo_last(session=session, by=alice)

    assert result.message == "Undone: MINE.JPG marked keep."
    taken_back = result.undos[0].undoes
    assert taken_back.created_by == alice and taken_back.photo == mine
    assert selectors.photo_card(photo=elsewhere).verdict == "NOT_BLINKING"  # untouched


def test_undo_of_a_face_names_the_face(session, alice):
    group = make_judged_photo(session, faces=[face(0.05, 0.05), face(0.9, 0.95, size_px=390)], name="GROUP.JPG")
    correction_create(photo=group, label="NOT_BLINKING", by=alice, face_index=1)
    assert selectors.photo_card(photo=group).verdict == "NOT_BLINKING"

    result = session_undo_last(session=session, by=alice)

    assert result.message == "Undone: face 2 of GROUP.JPG marked keep."
    assert selectors.photo_card(photo=group).verdict == "BLINKING"
