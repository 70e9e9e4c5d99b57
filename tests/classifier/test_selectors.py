"""Effective labels, review groups, strictness previews and agreement (review.selectors)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from classifier.models import Correction, ModelVersion
from review import selectors
from review.services.corrections import correction_create, correction_undo
from sessions_app.models import Photo
from tests.factories import make_session
from tests.review_builders import BLINK, BORDERLINE, NO_FACES, OPEN, face, make_judged_photo, make_unique_photo

pytestmark = pytest.mark.django_db


def _names(cards):
    return [c.photo.original_filename for c in cards]


def test_groups_split_photos_by_verdict_with_counts(session):
    make_judged_photo(session, faces=BLINK, name="IMG_0001.JPG")
    make_judged_photo(session, faces=OPEN, name="IMG_0002.JPG")
    make_judged_photo(session, faces=NO_FACES, name="IMG_0003.JPG")
    make_unique_photo(session, name="IMG_0004.JPG", status=Photo.Status.FAILED, error="file is truncated")
    make_unique_photo(session, name="IMG_0005.JPG")  # still queued

    groups = selectors.session_groups(session=session)

    assert _names(groups.blinking) == ["IMG_0001.JPG"]
    assert _names(groups.not_blinking) == ["IMG_0002.JPG"]
    assert sorted(_names(groups.no_face)) == ["IMG_0003.JPG", "IMG_0004.JPG"]
    assert groups.counts == {"check": 0, "blinking": 1, "not_blinking": 1, "no_face": 1, "unreadable": 1,
                             "pending": 1, "no_face_group": 2}
    unreadable = next(c for c in groups.no_face if c.unreadable)
    assert unreadable.reason == "file is truncated" and unreadable.verdict is None
    card = groups.blinking[0]
    assert card.reason.startswith("main face:") and "closed" in card.reason
    assert [e.state for e in card.faces[0].eyes] == ["closed", "closed"]
    assert card.faces[0].eyes[0].openness == pytest.approx(0.1)


def test_strictness_regroups_stored_predictions_without_reanalysis(session):
    make_judged_photo(session, faces=BORDERLINE, name="IMG_0001.JPG")
    make_judged_photo(session, faces=OPEN, name="IMG_0002.JPG")

    assert selectors.session_groups(session=session).counts["blinking"] == 0
    strict = selectors.session_groups(session=session, strictness=1.0)
    assert _names(strict.blinking) == ["IMG_0001.JPG"]
    assert strict.blinking[0].faces[0].eyes[1].state == "closed"  # left eye, 0.4 >= 0.2
    assert selectors.session_groups(session=session, strictness=0.0).counts["blinking"] == 0


def test_strictness_preview_counts_moves_and_leaves_corrected_photos_alone(session, alice):
    border = make_judged_photo(session, faces=BORDERLINE, name="IMG_0001.JPG")
    pinned = make_judged_photo(session, faces=[face(0.1, 0.42)], name="IMG_0002.JPG")
    make_judged_photo(session, faces=OPEN, name="IMG_0003.JPG")
    correction_create(photo=pinned, label="NOT_BLINKING", by=alice)

    preview = selectors.strictness_preview(session=session, strictness=1.0)

    # The borderline photo leaves Check these for Blinking; at 1.0 the cut-off (88% open) lies near the
    # open one's 90%, so it joins Check these.
    assert (preview.to_blinking, preview.to_not_blinking, preview.to_check, preview.moved) == (1, 0, 1, 2)
    assert preview.counts_now["blinking"] == 0 and preview.counts_after["blinking"] == 1
    assert preview.counts_now["check"] == 1 and preview.counts_after["check"] == 1
    assert preview.sentence == "1 photo moves to Blinking; 1 photo moves to Check these."
    session.refresh_from_db()
    assert session.strictness == 0.5  # a preview changes nothing
    back = selectors.strictness_preview(session=session, strictness=0.5)
    assert back.moved == 0 and back.sentence == "No photo changes group."
    assert border.id  # used


def test_sort_orders(session):
    a = make_judged_photo(session, faces=[face(0.05, 0.05)], name="b.jpg", taken_at=datetime(2026, 5, 1, 12, 2, tzinfo=timezone.utc))
    b = make_judged_photo(session, faces=[face(0.28, 0.05)], name="a.jpg", taken_at=datetime(2026, 5, 1, 12, 1, tzinfo=timezone.utc))
    c = make_judged_photo(session, faces=[face(0.2, 0.05)], name="C.jpg")

    by_conf = selectors.session_groups(session=session, sort="confidence").not_blinking
    by_name = selectors.session_groups(session=session, sort="name").not_blinking
    by_time = selectors.session_groups(session=session, sort="time").not_blinking

    assert [x.photo for x in by_conf] == [b, c, a]  # least confident first
    assert by_conf[0].confidence < by_conf[1].confidence < by_conf[2].confidence
    assert [x.photo for x in by_name] == [b, a, c]  # case-insensitive
    assert [x.photo for x in by_time] == [b, a, c]  # no capture time last
    assert selectors.session_groups(session=session, sort="bogus").sort == "confidence"


def test_whole_photo_correction_beats_the_machine(session, alice):
    photo = make_judged_photo(session, faces=BLINK, name="IMG_0001.JPG")
    correction_create(photo=photo, label="NOT_BLINKING", by=alice)

    card = selectors.session_groups(session=session).not_blinking[0]

    assert card.photo == photo and card.verdict == "NOT_BLINKING" and card.machine_verdict == "BLINKING"
    assert card.corrected and card.changed and card.corrected_by == alice
    # The machine's reasoning is still shown next to the photographer's decision.
    assert "closed" in card.reason


def test_face_correction_rederives_the_photo_until_a_newer_photo_correction(session, alice):
    photo = make_judged_photo(session, faces=[face(0.9, 0.9), face(0.05, 0.05, size_px=380)], name="group.jpg")
    assert selectors.photo_card(photo=photo).verdict == "BLINKING"
    assert [f.machine_label for f in selectors.photo_card(photo=photo).faces] == ["BLINKING", "NOT_BLINKING"]

    correction_create(photo=photo, label="NOT_BLINKING", by=alice, face_index=0)
    card = selectors.photo_card(photo=photo)
    assert card.verdict == "NOT_BLINKING" and card.faces[0].corrected and not card.faces[1].corrected

    correction_create(photo=photo, label="BLINKING", by=alice, face_index=1)
    assert selectors.photo_card(photo=photo).verdict == "BLINKING"

    correction_create(photo=photo, label="NOT_BLINKING", by=alice)  # the whole photo, newest
    assert selectors.photo_card(photo=photo).verdict == "NOT_BLINKING"


def test_background_faces_do_not_decide_unless_corrected(session, alice):
    photo = make_judged_photo(session, faces=[face(0.05, 0.05, size_px=500), face(0.95, 0.95, size_px=100)])
    card = selectors.photo_card(photo=photo)
    assert card.verdict == "NOT_BLINKING" and [f.is_subject for f in card.faces] == [True, False]
    # The photographer says the small face matters: a corrected face always counts.
    correction_create(photo=photo, label="BLINKING", by=alice, face_index=1)
    assert selectors.photo_card(photo=photo).verdict == "BLINKING"


def test_undo_restores_what_lay_underneath_and_keeps_history(session, alice):
    photo = make_judged_photo(session, faces=BORDERLINE, name="IMG_0001.JPG")
    correction_create(photo=photo, label="BLINKING", by=alice)
    correction_create(photo=photo, label="NO_FACE", by=alice)

    correction_undo(photo=photo, by=alice)
    assert selectors.photo_card(photo=photo).verdict == "BLINKING"
    correction_undo(photo=photo, by=alice)
    card = selectors.photo_card(photo=photo)
    assert card.verdict == "NOT_BLINKING" and not card.corrected  # the machine again, strictness-driven
    assert selectors.photo_card(photo=photo, strictness=1.0).verdict == "BLINKING"
    assert Correction.objects.filter(photo=photo).count() == 4


def test_live_model_prediction_wins_over_an_older_models(session):
    old = ModelVersion.objects.create(name="old", is_live=False)
    photo = make_judged_photo(session, faces=BLINK, model=old)
    assert selectors.photo_card(photo=photo).verdict == "BLINKING"  # only an old prediction: still shown
    from tests.review_builders import add_prediction

    add_prediction(photo, faces=OPEN)  # the live model re-ran
    card = selectors.photo_card(photo=photo)
    assert card.verdict == "NOT_BLINKING" and card.model_version_id == ModelVersion.objects.get(is_live=True).id


def test_agreement_counts_only_the_photos_looked_at_or_decided(session, alice):
    from sessions_app.services import photos_mark_seen

    flagged = [make_judged_photo(session, faces=BLINK, name=f"b{i}.jpg") for i in range(3)]
    missed = make_judged_photo(session, faces=OPEN, name="o1.jpg")
    looked = make_judged_photo(session, faces=OPEN, name="o2.jpg")
    make_judged_photo(session, faces=OPEN, name="o3.jpg")  # nobody looked: says nothing about the model
    make_unique_photo(session, status=Photo.Status.FAILED, error="broken")
    correction_create(photo=flagged[0], label="NOT_BLINKING", by=alice)
    correction_create(photo=flagged[1], label="BLINKING", by=alice)  # confirmed, not a disagreement
    correction_create(photo=missed, label="BLINKING", by=alice)
    assert photos_mark_seen(session=session, photo_uuids=[looked.uuid, missed.uuid]) == 2

    agreement = selectors.session_agreement(session=session)

    # flagged[2] was never opened: it is in flagged_total, not in what the photographer reviewed.
    assert (agreement.total, agreement.looked, agreement.flagged, agreement.kept, agreement.missed) == (6, 4, 2, 1, 1)
    assert agreement.flagged_total == 3 and agreement.corrected == 3 and agreement.agreement_percent == 50
    assert agreement.sentence == (
        "You looked at 4 of 6; of those the model flagged 2 and you kept 1; 1 reject was missed."
    )


def test_an_undone_correction_still_counts_as_looked_at(session, alice):
    photo = make_judged_photo(session, faces=BLINK)
    make_judged_photo(session, faces=OPEN)
    correction_create(photo=photo, label="NOT_BLINKING", by=alice)
    correction_undo(photo=photo, by=alice)
    agreement = selectors.session_agreement(session=session)
    assert (agreement.looked, agreement.flagged, agreement.kept, agreement.corrected) == (1, 1, 0, 0)


def test_agreement_sentence_wording_edges(session):
    assert selectors.session_agreement(session=session).sentence == "Nothing judged yet."
    make_judged_photo(session, faces=OPEN)
    # Nothing looked at yet: nothing to agree or disagree with, so only what the model flagged.
    assert selectors.session_agreement(session=session).sentence == "Not reviewed yet: nothing flagged by the model."
    assert selectors.Agreement(total=23, flagged=0, kept=0, missed=0, corrected=0, flagged_total=23).sentence == (
        "Not reviewed yet: 23 flagged by the model."
    )
    assert selectors.Agreement(total=23, flagged=0, kept=0, missed=0, corrected=0).agreement_percent is None
    assert selectors.Agreement(total=5, flagged=0, kept=0, missed=0, corrected=1, looked=1).sentence == (
        "You looked at 1 of 5; of those the model flagged none; no reject was missed."
    )
    assert selectors.Agreement(total=9, flagged=4, kept=0, missed=2, corrected=2, looked=6).sentence == (
        "You looked at 6 of 9; of those the model flagged 4 and you kept 0; 2 rejects were missed."
    )


def test_broken_stored_details_fall_back_to_the_stored_verdict(session):
    photo = make_judged_photo(session, faces=BLINK)
    prediction = photo.predictions.get()
    prediction.details = {"faces": [{"eyes": [{"side": "left", "state": "banana", "p_closed": 0.9}]}]}
    prediction.save()
    card = selectors.photo_card(photo=photo)
    assert card.verdict == "BLINKING" and card.reason == prediction.reason


def test_sessions_blinking_counts_use_each_sessions_strictness(alice):
    lenient = make_session(alice, strictness=0.5)
    strict = make_session(alice, strictness=1.0)
    for s in (lenient, strict):
        make_judged_photo(s, faces=BORDERLINE)
        make_judged_photo(s, faces=BLINK)
    assert selectors.sessions_blinking_counts(sessions=[lenient, strict]) == {lenient.id: 1, strict.id: 2}


def test_each_eye_shows_one_number_on_the_scale_its_state_names():
    def card(state, p_closed, openness):
        return selectors.EyeCard(side="left", state=state, p_closed=p_closed, openness=openness, box=None,
                                 has_crop=False)

    closed = card("closed", 0.71, 0.29)
    assert (closed.summary, closed.state_scale) == ("closed 71%", "P(closed)")  # the reason's "closed (0.71)"
    # A partly closed eye shows how open it still is, as the reason sentence does.
    partly = card("partly_closed", 0.4, 0.6)
    assert (partly.summary, partly.state_scale, partly.percent_text) == ("partly closed (60% open)", "openness",
                                                                          "(60% open)")
    is_open = card("open", 0.04, 0.96)
    assert (is_open.summary, is_open.state_scale) == ("open 96%", "openness")
    assert card("open", 0.1, None).summary == "open 90%"  # older rows without openness
    hidden = card("not_visible", 0.0, 0.0)
    assert (hidden.summary, hidden.state_percent) == ("not visible", None)
