"""session_summary / sessions_blinking_counts (no cards built) agree with the full review groups."""
from __future__ import annotations

import pytest

from classifier import selectors
from classifier.models import Correction
from sessions_app.models import Photo
from tests.factories import make_photo
from tests.review_builders import BLINK, BORDERLINE, NO_FACES, OPEN, face, make_judged_photo


@pytest.fixture
def mixed_session(db, session):
    """Blinking, open, borderline, group and face-less photos, corrections of all kinds, a failure, a queued one."""
    made = [
        make_judged_photo(session, faces=faces)
        for faces in (BLINK, OPEN, BORDERLINE, NO_FACES, OPEN + [face(0.9, 0.95, size_px=60)],
                      [face(0.05, 0.1), face(0.95, 0.9, size_px=380)], BORDERLINE, OPEN)
    ]
    Correction.objects.create(photo=made[0], label="NOT_BLINKING")  # kept a flagged one
    Correction.objects.create(photo=made[1], label="BLINKING")  # a missed blink
    fix = Correction.objects.create(photo=made[2], label="NOT_BLINKING")
    Correction.objects.create(photo=made[2], label="BLINKING", undoes=fix)  # taken back
    Correction.objects.create(photo=made[5], label="NOT_BLINKING", face_index=1)  # a face, newer than nothing
    make_photo(session, status=Photo.Status.FAILED, error="truncated")
    make_photo(session, status=Photo.Status.QUEUED)
    return session


@pytest.mark.parametrize("strictness", [0.0, 0.5, 0.8, 1.0])
def test_summary_matches_the_review_groups(mixed_session, strictness):
    mixed_session.strictness = strictness
    groups = selectors.session_groups(session=mixed_session)
    summary = selectors.session_summary(session=mixed_session)
    assert summary.counts == groups.counts
    # Agreement counts the photos looked at or decided: the four with corrections (one taken back since).
    assert summary.agreement.total == len([c for c in groups.all_cards() if not c.unreadable])
    assert summary.agreement.looked == 4
    assert selectors.sessions_blinking_counts(sessions=[mixed_session]) == {mixed_session.id: len(groups.blinking)}
    assert summary.counts["pending"] == 1 and summary.counts["unreadable"] == 1


@pytest.mark.parametrize("sort", list(selectors.SORTS))
def test_session_order_walks_the_photos_exactly_as_the_review_page_shows_them(mixed_session, sort):
    cards = selectors.session_groups(session=mixed_session, sort=sort).all_cards()
    order = selectors.session_order(session=mixed_session, sort=sort)
    assert [o.photo_id for o in order] == [c.photo.id for c in cards]
    assert [(o.group, o.verdict, o.confidence) for o in order] == [(c.group, c.verdict, c.confidence) for c in cards]
    first, last = cards[0].photo, cards[-1].photo
    assert selectors.session_neighbours(session=mixed_session, photo_id=first.id, sort=sort) == selectors.Neighbours(
        position=1, count=len(cards), prev_uuid=None, next_uuid=cards[1].photo.uuid)
    middle = selectors.session_neighbours(session=mixed_session, photo_id=cards[2].photo.id, sort=sort)
    assert (middle.prev_uuid, middle.next_uuid, middle.position) == (cards[1].photo.uuid, cards[3].photo.uuid, 3)
    assert selectors.session_neighbours(session=mixed_session, photo_id=last.id, sort=sort).next_uuid is None


def test_cached_machine_outcomes_follow_corrections_re_runs_and_promotions(mixed_session):
    """The machine's part is cached; a correction, a changed prediction or a new live model still shows at once."""
    from classifier.models import ModelVersion, Prediction

    def blinking() -> int:
        return selectors.session_summary(session=mixed_session).counts["blinking"]

    def truth() -> int:
        return len(selectors.session_groups(session=mixed_session).blinking)

    start = blinking()
    assert start == truth()
    open_photo = mixed_session.photos.order_by("id")[7]
    Correction.objects.create(photo=open_photo, label="BLINKING")
    assert blinking() == truth() == start + 1

    prediction = Prediction.objects.get(photo=mixed_session.photos.order_by("id")[3])  # face-less until re-run
    prediction.details = {"faces": BLINK}
    prediction.save()
    assert blinking() == truth() == start + 2

    newer = ModelVersion.objects.create(name="newer", is_live=False)
    Prediction.objects.create(photo=mixed_session.photos.order_by("id")[6], model_version=newer, verdict="BLINKING",
                              confidence=1.0, reason="x", details={"faces": BLINK})
    ModelVersion.objects.update(is_live=False)
    ModelVersion.objects.filter(pk=newer.pk).update(is_live=True)
    assert blinking() == truth() == start + 3
