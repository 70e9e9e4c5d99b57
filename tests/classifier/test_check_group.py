"""The "check these" group: photos whose machine verdict ml.verdict is unsure of, until a person decides them."""
from __future__ import annotations

import pytest

from review import selectors
from review.services.corrections import correction_create, correction_undo
from tests.review_builders import BLINK, BORDERLINE, NO_FACES, OPEN, face, make_judged_photo

pytestmark = pytest.mark.django_db


def _doubtful_face() -> dict:
    # Eyes clearly open, but the landmark model hardly believes there is a face there.
    return {**face(0.05, 0.05), "presence": 0.2}


def test_machine_view_carries_ml_check_reasons(session):
    photo = make_judged_photo(session, faces=BORDERLINE)  # left eye 60% open: near the 0.5 cut-off
    card = selectors.photo_card(photo=photo)

    assert card.group == selectors.GROUP_CHECK and card.to_check
    assert card.verdict == card.machine_verdict == "NOT_BLINKING"  # the label in force is still the machine's
    assert card.check_reasons == ("near the cut-off (main face left eye 60% open)",)
    doubtful = selectors.photo_card(photo=make_judged_photo(session, faces=[_doubtful_face()]))
    assert doubtful.to_check and doubtful.check_reasons == ("face box doubtful (main face)",)
    for faces in (BLINK, OPEN, NO_FACES):  # sure verdicts, and no face at all (a group of its own)
        sure = selectors.photo_card(photo=make_judged_photo(session, faces=faces))
        assert not sure.to_check and sure.check_reasons == ()


def test_a_correction_decides_the_photo_and_undo_brings_it_back(session, alice):
    photo = make_judged_photo(session, faces=BORDERLINE, name="border.jpg")
    group_photo = make_judged_photo(session, faces=[face(0.4, 0.1), face(0.05, 0.05, size_px=390)], name="g.jpg")
    assert [c.photo for c in selectors.session_groups(session=session).check] == [photo, group_photo]

    correction_create(photo=photo, label="NOT_BLINKING", by=alice)  # confirming the machine decides it too
    correction_create(photo=group_photo, label="BLINKING", by=alice, face_index=0)  # so does a face's
    groups = selectors.session_groups(session=session)
    assert groups.check == [] and [c.photo for c in groups.not_blinking] == [photo]
    assert [c.photo for c in groups.blinking] == [group_photo]
    assert groups.not_blinking[0].check_reasons  # the machine's doubt is still known, just settled

    correction_undo(photo=photo, by=alice)
    assert [c.photo for c in selectors.session_groups(session=session).check] == [photo]


@pytest.mark.parametrize("strictness", [0.0, 0.5, 1.0])
def test_every_count_includes_the_check_group_and_agrees(session, alice, strictness):
    session.strictness = strictness
    session.save()
    made = [make_judged_photo(session, faces=f) for f in (BLINK, OPEN, BORDERLINE, BORDERLINE, [_doubtful_face()],
                                                          NO_FACES)]
    correction_create(photo=made[3], label="BLINKING", by=alice)

    groups = selectors.session_groups(session=session)
    summary = selectors.session_summary(session=session)
    assert summary.counts == groups.counts and summary.counts["check"] == len(groups.check)
    assert dict(summary.group_counts)["check"] == len(groups.check)
    assert selectors.sessions_counts(sessions=[session]) == {session.id: groups.counts}
    page = selectors.session_group_counts(session=session)
    assert (page.check, page.blinking, page.not_blinking) == (len(groups.check), len(groups.blinking),
                                                               len(groups.not_blinking))
    assert page.total == len(made)
    # The lightbox walks the groups in the page's order, check these first.
    order = selectors.session_order(session=session)
    assert [o.photo_id for o in order] == [c.photo.id for c in groups.all_cards()]
    assert [o.group for o in order] == [c.group for c in groups.all_cards()]


def test_old_details_without_check_fields_are_judged_and_broken_ones_keep_the_stored_reasons(session):
    # Schema 1-2: no openness, width_px, presence, needs_check or check_reasons; closedness = P(closed).
    old_eye = {"side": "left", "state": "open", "p_closed": 0.4}
    old = make_judged_photo(session, faces=[{"box": None, "eyes": [old_eye, {**old_eye, "side": "right",
                                                                              "p_closed": 0.02}]}])
    card = selectors.photo_card(photo=old)
    assert card.to_check and card.check_reasons == ("near the cut-off (main face left eye 60% open)",)
    assert selectors.session_summary(session=session).counts["check"] == 1

    broken = make_judged_photo(session, faces=BLINK)
    prediction = broken.predictions.get()
    prediction.details = {"faces": [{"eyes": [{"side": "left", "state": "banana", "p_closed": 0.9}]}],
                          "needs_check": True, "check_reasons": ["eyes too small (main face, 5 px)"]}
    prediction.save()
    card = selectors.photo_card(photo=broken)
    assert card.verdict == "BLINKING" and card.check_reasons == ("eyes too small (main face, 5 px)",)
    assert selectors.session_summary(session=session).counts["check"] == 2


def test_the_strictness_preview_says_what_joins_the_check_group(session):
    make_judged_photo(session, faces=[face(0.75, 0.05)])  # closed at 0.5; near the 0.8 cut-off when lenient
    preview = selectors.strictness_preview(session=session, strictness=0.0)
    assert (preview.to_check, preview.to_blinking, preview.moved) == (1, 0, 1)
    assert preview.sentence == "1 photo moves to Check these."
