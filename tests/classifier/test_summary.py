"""session_summary / sessions_blinking_counts (no cards built) agree with the full review groups."""
from __future__ import annotations

import pytest
from django.core.cache import cache

from classifier.models import Correction
from review import selectors
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


@pytest.mark.parametrize("seed", range(6))
def test_outcomes_read_each_photo_exactly_like_its_full_card(db, session, seed):
    """Photos decided as a whole are read off their stacks without their stored faces: the same group, label
    and "decided" as the full card, whatever mix of photo and face corrections, undos and strictness."""
    import random

    from classifier.selectors import session_strictness
    from review.selectors.outcomes import sessions_outcomes

    rng = random.Random(seed)
    shapes = [BLINK, OPEN, BORDERLINE, NO_FACES, [face(0.05, 0.1), face(0.95, 0.9, size_px=380)],
              OPEN + [face(0.9, 0.95, size_px=60)]]
    photos = [make_judged_photo(session, faces=rng.choice(shapes)) for _ in range(12)]
    for _ in range(30):
        photo = rng.choice(photos)
        undone = Correction.objects.filter(undoes__isnull=False).values("undoes_id")
        made = list(Correction.objects.filter(photo=photo, undoes__isnull=True).exclude(id__in=undone))
        if made and rng.random() < 0.25:
            Correction.objects.create(photo=photo, label=made[-1].label, face_index=made[-1].face_index,
                                      undoes=rng.choice(made))
        else:
            Correction.objects.create(photo=photo, label=rng.choice(["BLINKING", "NOT_BLINKING", "NO_FACE"]),
                                      face_index=rng.choice([None, None, 0, 1]))
    session.strictness = rng.choice([0.2, 0.5, 0.9])
    session.save(update_fields=["strictness"])
    cards = {c.photo.id: c for c in selectors.session_groups(session=session).all_cards()}
    thresholds = {session.id: session_strictness(session)}
    primed = sessions_outcomes([session.id], thresholds)[session.id]  # the machine part the cards left in the cache
    cache.clear()
    judged = sessions_outcomes([session.id], thresholds)[session.id]  # the machine part judged afresh
    assert primed == judged
    for o in judged.outcomes:
        card = cards[o.photo_id]
        assert (o.group, o.verdict, o.machine_verdict, o.corrected) == \
               (card.group, card.verdict, card.machine_verdict, card.corrected), o.photo_id
