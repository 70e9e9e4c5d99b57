"""Each check besides the eyes gets its own personal strictness, fitted to the photographer's decisions on
its flag (re-judged from the stored details, no re-analysis) and applied to their sessions only when they
accept. Uses the test-only "wide frame" check (tests/checks.py): flagged when wider than 1.7 - 0.4 x
strictness."""
from __future__ import annotations

import pytest
from django.test import Client as WebClient

from classifier import services as classifier_services
from classifier.models import PersonalModel
from learning import selectors as learning_selectors
from review import selectors
from review.services import correction_create
from tests.checks import WideFrameCheck, registered
from tests.factories import jpeg_bytes, make_photo, make_session, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def decided(settings):
    settings.EYESPY_PERSONAL_MIN_DECISIONS = 3
    with registered(WideFrameCheck()):
        alice = make_user("alice@example.com")
        session = make_session(alice, title="Banners")
        photos = {}
        for name, size in (("A16.JPG", (800, 500)), ("A18.JPG", (900, 500)), ("A14.JPG", (700, 500))):
            photos[name] = make_photo(session, name=name, data=jpeg_bytes(size=size, comment=name.encode()))
            classifier_services.photo_process(photo_id=photos[name].id)
            photos[name].refresh_from_db()
        # At the default 0.5 (limit 1.50) the machine flags 1.6 and 1.8; she keeps 1.6 and 1.4, flags 1.8.
        for name, value in (("A16.JPG", "clear"), ("A18.JPG", "flagged"), ("A14.JPG", "clear")):
            correction_create(photo=photos[name], label="", by=alice, flag="wide", value=value)
        web = WebClient()
        web.force_login(alice)
        yield alice, session, photos, web


def test_the_fit_agrees_best_with_her_decisions(decided):
    alice, *_ = decided
    (wide,) = [c for c in learning_selectors.check_suggestions(photographer=alice) if c.key == "wide"]
    assert (wide.key, wide.decisions) == ("wide", 3)
    assert wide.before == pytest.approx(2 / 3)  # 1.6 was flagged against her word
    assert wide.strictness == 0.2 and wide.after == 1.0  # limit 1.62: the nearest to 0.5 of the perfect ones


def test_accepting_applies_it_to_her_sessions(decided):
    alice, session, photos, web = decided
    other = make_session(alice, title="Later shoot")
    page = web.get("/learning/me/").content.decode()
    assert '<tr data-check="wide"><td>Wide frame</td><td>3</td>' in page and '<td class="suggested">0.20</td>' in page
    assert "Use these for all my sessions" in page  # the eyes have no decisions: the checks' own button
    answer = web.post("/learning/me/accept/", follow=True)
    assert "wide 0.20" in answer.content.decode()
    session.refresh_from_db(), other.refresh_from_db()
    assert session.check_strictness == {"wide": 0.2} and other.check_strictness == {"wide": 0.2}
    assert session.strictness == 0.5  # the eyes' slider is not touched without eye decisions
    model = PersonalModel.objects.get(photographer=alice)
    assert model.check_strictness["wide"] == {"strictness": 0.2, "before": pytest.approx(2 / 3), "after": 1.0,
                                              "decisions": 3}
    fresh = make_photo(session, name="B156.JPG", data=jpeg_bytes(size=(780, 500), comment=b"B156"))
    classifier_services.photo_process(photo_id=fresh.id)
    fresh.refresh_from_db()
    assert selectors.photo_card(photo=fresh).outcome.kind == "keeper"  # 1.56: flagged at 0.5, within her 1.62


def test_below_the_minimum_nothing_is_offered(decided, settings):
    alice, session, _, web = decided
    settings.EYESPY_PERSONAL_MIN_DECISIONS = 4
    (wide,) = [c for c in learning_selectors.check_suggestions(photographer=alice) if c.key == "wide"]
    assert not wide.enabled and wide.decisions == 3
    assert "after 4 decisions on this check" in web.get("/learning/me/").content.decode()
    web.post("/learning/me/accept/")
    session.refresh_from_db()
    assert session.check_strictness == {} and not PersonalModel.objects.filter(photographer=alice).exists()
