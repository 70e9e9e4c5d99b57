"""Session steps in the web app: a check judged against the rest of its session (like focus against the
session's sharpest frames) gets what the step computed from the stored details, in the review, the
counts and a single card; a new photo changes it without re-analysing the others; a step that fails
leaves the photos judged alone."""
from __future__ import annotations

import pytest

from classifier import services as classifier_services
from classifier.models import Prediction
from review import selectors
from tests.checks import WidestCheck, WidestStep, registered, registered_step
from tests.factories import jpeg_bytes, make_photo, make_session, make_user

pytestmark = pytest.mark.django_db


def _add(session, name, size):
    photo = make_photo(session, name=name, data=jpeg_bytes(size=size, comment=name.encode()))
    classifier_services.photo_process(photo_id=photo.id)
    return photo


@pytest.fixture
def session():
    with registered(WidestCheck()):
        with registered_step(WidestStep()) as step:
            session = make_session(make_user("alice@example.com"), title="Banners")
            _add(session, "PANO.JPG", (800, 400))
            _add(session, "WIDE.JPG", (600, 400))
            _add(session, "SQUARE.JPG", (400, 400))
            session.step = step
            yield session


def _rejects(session):
    return sorted(c.photo.original_filename for c in selectors.session_groups(session=session).blinking)


def test_the_review_and_the_counts_judge_each_photo_against_its_session(session):
    assert _rejects(session) == ["PANO.JPG"]
    groups = selectors.session_groups(session=session)
    assert selectors.session_summary(session=session).counts == groups.counts
    pano = next(c for c in groups.blinking if c.photo.original_filename == "PANO.JPG")
    assert pano.reasons == ("2.00 of the session's widest 2.00",)


def test_one_photos_card_is_judged_against_its_session_too(session):
    square = session.photos.get(original_filename="SQUARE.JPG")
    card = selectors.photo_card(photo=square)
    assert card.is_keeper and "1.00 of the session's widest 2.00" in " ".join(f.sentence for f in card.outcome.flags)


def test_a_new_photo_moves_the_others_without_re_analysing_them(session):
    before = dict(Prediction.objects.values_list("photo_id", "updated_at"))
    _add(session, "BANNER.JPG", (900, 300))
    assert _rejects(session) == ["BANNER.JPG"]
    assert {pid: at for pid, at in Prediction.objects.values_list("photo_id", "updated_at") if pid in before} == before
    assert selectors.session_summary(session=session).counts == selectors.session_groups(session=session).counts


def test_a_failing_step_leaves_the_photos_judged_alone(session):
    session.step.fail = True
    _add(session, "OTHER.JPG", (500, 400))
    groups = selectors.session_groups(session=session)  # the new photo changed the fingerprint: steps re-run
    assert groups.blinking == [] and len(groups.no_face) == 4  # WidestCheck alone judges nothing; none lost
