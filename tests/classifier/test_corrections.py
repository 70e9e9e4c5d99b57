"""correction_create / bulk / undo: append-only, provenance recorded, never touched by a model run."""
from __future__ import annotations

import pytest

from classifier.models import Correction
from review import selectors
from review.services.corrections import (
    CorrectionError,
    correction_create,
    correction_undo,
    corrections_bulk_create,
    corrections_undo,
)
from sessions_app.models import Photo
from tests.review_builders import BLINK, OPEN, add_prediction, face, live_model, make_judged_photo, make_unique_photo

pytestmark = pytest.mark.django_db


def test_correction_records_who_when_previous_label_and_model_version(session, alice):
    photo = make_judged_photo(session, faces=BLINK)

    c = correction_create(photo=photo, label="not_blinking", by=alice)

    assert (c.label, c.previous_label, c.face_index) == ("NOT_BLINKING", "BLINKING", None)
    assert c.created_by == alice and c.created_at is not None
    assert c.model_version == live_model()
    assert c.undoes is None


def test_face_correction_records_the_faces_previous_label(session, alice):
    photo = make_judged_photo(session, faces=[face(0.05, 0.05), face(0.9, 0.9, size_px=390)])
    c = correction_create(photo=photo, label="NOT_BLINKING", by=alice, face_index=1)
    assert (c.face_index, c.previous_label, c.label) == (1, "BLINKING", "NOT_BLINKING")


@pytest.mark.parametrize(
    "label, face_index, reason",
    [
        ("MAYBE", None, "unknown label 'MAYBE' for a photo"),
        ("NO_FACE", 0, "unknown label 'NO_FACE' for a face"),
        ("BLINKING", 3, "has no face 4"),
        ("BLINKING", -1, "face numbers start at 1"),
    ],
)
def test_bad_corrections_are_refused_with_a_reason(session, alice, label, face_index, reason):
    photo = make_judged_photo(session, faces=BLINK)
    with pytest.raises(CorrectionError) as err:
        correction_create(photo=photo, label=label, by=alice, face_index=face_index)
    assert reason in err.value.reason
    assert not Correction.objects.exists()


def test_photos_without_a_verdict_cannot_be_corrected(session, alice):
    queued = make_unique_photo(session, name="q.jpg")
    failed = make_unique_photo(session, name="f.jpg", status=Photo.Status.FAILED, error="file is truncated")
    with pytest.raises(CorrectionError, match="still being processed"):
        correction_create(photo=queued, label="BLINKING", by=alice)
    with pytest.raises(CorrectionError, match="could not be read"):
        correction_create(photo=failed, label="BLINKING", by=alice)


def test_a_model_rerun_never_overrides_a_correction(session, alice):
    photo = make_judged_photo(session, faces=BLINK)
    correction_create(photo=photo, label="NOT_BLINKING", by=alice)

    add_prediction(photo, faces=[face(0.99, 0.99)])  # the worker re-analyses (update_or_create)

    assert selectors.photo_card(photo=photo).verdict == "NOT_BLINKING"
    assert Correction.objects.get().label == "NOT_BLINKING"


def test_bulk_marks_every_photo_and_skips_those_without_a_verdict(session, alice):
    photos = [make_judged_photo(session, faces=OPEN) for _ in range(3)]
    failed = make_unique_photo(session, status=Photo.Status.FAILED, error="broken")

    created = corrections_bulk_create(photos=[*photos, failed], label="BLINKING", by=alice)

    assert len(created) == 3 and {c.photo_id for c in created} == {p.id for p in photos}
    assert all(c.previous_label == "NOT_BLINKING" for c in created)
    assert selectors.session_groups(session=session).counts["blinking"] == 3


def test_undo_appends_a_row_pointing_at_what_it_takes_back(session, alice):
    photo = make_judged_photo(session, faces=BLINK)
    fix = correction_create(photo=photo, label="NOT_BLINKING", by=alice)

    undo = correction_undo(photo=photo, by=alice)

    assert undo.undoes == fix and undo.previous_label == "NOT_BLINKING" and undo.label == "BLINKING"
    assert list(Correction.objects.order_by("id")) == [fix, undo]  # nothing deleted or edited
    assert selectors.photo_card(photo=photo).verdict == "BLINKING"
    assert correction_undo(photo=photo, by=alice) is None  # nothing left to take back
    assert Correction.objects.count() == 2


def test_undo_takes_back_the_newest_correction_even_a_face_one(session, alice):
    photo = make_judged_photo(session, faces=[face(0.9, 0.9), face(0.05, 0.05, size_px=390)])
    correction_create(photo=photo, label="NOT_BLINKING", by=alice)
    face_fix = correction_create(photo=photo, label="BLINKING", by=alice, face_index=1)

    undo = correction_undo(photo=photo, by=alice)

    assert undo.undoes == face_fix and undo.face_index == 1 and undo.label == "NOT_BLINKING"
    assert selectors.photo_card(photo=photo).verdict == "NOT_BLINKING"  # the photo correction again


def test_undo_records_the_label_it_restores(session, alice):
    photo = make_judged_photo(session, faces=OPEN)
    correction_create(photo=photo, label="BLINKING", by=alice)
    correction_create(photo=photo, label="NO_FACE", by=alice)
    assert correction_undo(photo=photo, by=alice).label == "BLINKING"
    assert correction_undo(photo=photo, by=alice).label == "NOT_BLINKING"


def test_bulk_undo(session, alice):
    photos = [make_judged_photo(session, faces=OPEN) for _ in range(2)]
    corrections_bulk_create(photos=photos, label="BLINKING", by=alice)
    undone = corrections_undo(photos=photos, by=alice)
    assert len(undone) == 2
    assert selectors.session_groups(session=session).counts["blinking"] == 0


def test_keep_anyway_and_reject_decide_the_whole_photo_without_saying_anything_about_the_eyes(session, alice):
    from learning.services.labelling import eyes_to_label

    blink, sharp = make_judged_photo(session, faces=BLINK), make_judged_photo(session, faces=OPEN)
    kept = correction_create(photo=blink, by=alice, flag="", value="keep")
    rejected = correction_create(photo=sharp, by=alice, flag="", value="reject")
    assert (kept.flag, kept.value, kept.label) == ("", "keep", "")
    blink_card, sharp_card = selectors.photo_card(photo=blink), selectors.photo_card(photo=sharp)
    assert (blink_card.group, blink_card.is_keeper, blink_card.badge) == ("not_blinking", True, "your call")
    assert (blink_card.verdict_label, blink_card.css_key) == ("Kept", "not_blinking")
    assert blink_card.verdict == "BLINKING" and blink_card.reasons == ("your call: keep anyway",)  # eyes as read
    assert (sharp_card.group, sharp_card.is_keeper, sharp_card.verdict_label) == ("blinking", False, "Rejected")
    summary = selectors.session_summary(session=session).counts
    assert (summary["blinking"], summary["not_blinking"]) == (1, 1)  # the counts' fast path agrees
    # Neither teaches the eye model anything.
    assert eyes_to_label(label=kept.label, face_index=None, faces=BLINK, subjects=[True], picks={})[0] == []
    # A later word on the eyes wins over the whole-photo decision, as the newest word always has.
    correction_create(photo=blink, by=alice, label="BLINKING")
    assert selectors.photo_card(photo=blink).group == "blinking"


@pytest.mark.parametrize("kwargs, words", [
    ({"flag": "", "value": "maybe"}, "whole-photo decision"),
    ({"flag": "", "value": "keep", "face_index": 0}, "whole-photo decision"),
    ({"flag": "sharpness", "value": "flagged"}, "no check 'sharpness'"),
    ({"flag": "blink", "value": "soft"}, "flagged or clear"),
])
def test_a_decision_that_makes_no_sense_is_refused_with_a_reason(session, alice, kwargs, words):
    photo = make_judged_photo(session, faces=OPEN)
    with pytest.raises(CorrectionError, match=words):
        correction_create(photo=photo, by=alice, **kwargs)
