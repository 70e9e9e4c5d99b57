"""Query counts of the busy pages don't grow with the number of photos or sessions (no N+1).

Each test measures a page on a small set-up (already with one photo and one face corrected: a face
correction costs its one query however many there are), adds more photos/sessions/corrections, and
measures again: the count must be the same. The progress panel is polled every 2 s, so its count is also pinned.
"""
from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from classifier.models import Correction
from tests.factories import make_session, make_user
from tests.review_builders import BLINK, BORDERLINE, OPEN, face, make_judged_photo

PROGRESS_MAX_QUERIES = 10


def _queries(web, url: str, **headers) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = web.get(url, **headers)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _add_photos(session, n: int, *, correct_every: int = 0) -> None:
    for i in range(n):
        faces = BLINK if i % 3 == 0 else (OPEN + [face(0.9, 0.95, size_px=60)] if i % 3 == 1 else OPEN)
        photo = make_judged_photo(session, faces=faces)
        if correct_every and i % correct_every == 0:
            Correction.objects.create(photo=photo, label="NOT_BLINKING", face_index=None)
            Correction.objects.create(photo=photo, label="BLINKING", face_index=0)


def test_progress_partial_query_count_is_constant(web, alice_session):
    url = f"/sessions/{alice_session.uuid}/progress/"
    _add_photos(alice_session, 2, correct_every=2)
    small = _queries(web, url, HTTP_HX_REQUEST="true")
    _add_photos(alice_session, 12, correct_every=3)
    assert _queries(web, url, HTTP_HX_REQUEST="true") == small
    assert small <= PROGRESS_MAX_QUERIES


def test_session_page_query_count_is_constant(web, alice_session):
    url = f"/sessions/{alice_session.uuid}/"
    _add_photos(alice_session, 2, correct_every=2)
    small = _queries(web, url)
    _add_photos(alice_session, 12, correct_every=3)
    assert _queries(web, url) == small


@pytest.mark.parametrize("warm", [False, True], ids=["cold-cache", "warm-cache"])
def test_dashboard_query_count_does_not_grow_with_sessions_or_photos(web, alice, warm):
    def count() -> int:
        if not warm:
            cache.clear()
        else:
            _queries(web, "/")  # fill the blink-count cache
        return _queries(web, "/")

    _add_photos(make_session(alice), 2, correct_every=2)
    small = count()
    for _ in range(4):
        _add_photos(make_session(alice), 5, correct_every=2)
    assert count() == small


def test_dashboard_blink_counts_follow_corrections_and_strictness(web, alice):
    """The cached counts are refreshed by what changes them (a correction, a new strictness)."""
    session = make_session(alice)
    _add_photos(session, 2)  # photo 0 blinks; photo 1's small background face blinks but doesn't count
    make_judged_photo(session, faces=BORDERLINE)
    assert _blinking_on_dashboard(web, session) == 1
    Correction.objects.create(photo=session.photos.order_by("id")[1], label="BLINKING", face_index=None)
    assert _blinking_on_dashboard(web, session) == 2
    session.strictness = 1.0
    session.save(update_fields=["strictness"])
    assert _blinking_on_dashboard(web, session) == 3  # the borderline eye now counts as closed


def _blinking_on_dashboard(web, session) -> int:
    sessions = web.get("/").context["sessions"]
    return next(s.blinking_count for s in sessions if s.id == session.id)


def test_review_page_and_correction_query_counts_are_constant(web, alice_session):
    review_url = f"/sessions/{alice_session.uuid}/review/"
    _add_photos(alice_session, 2, correct_every=2)
    photo = alice_session.photos.order_by("id").first()

    def correct() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = web.post(f"/photos/{photo.uuid}/correct/", {"label": "BLINKING"}, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        return len(ctx.captured_queries)

    small_review, small_fix = _queries(web, review_url), correct()
    _add_photos(alice_session, 12, correct_every=3)
    assert (_queries(web, review_url), correct()) == (small_review, small_fix)


def test_other_photographers_progress_is_404(web, alice_session):
    bob_session = make_session(make_user("bob-counts@example.com"))
    assert web.get(f"/sessions/{bob_session.uuid}/progress/").status_code == 404


def _post_queries(web, url: str, data: dict) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = web.post(url, data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_loupe_seen_reports_and_session_undo_do_not_grow_with_photos(web, alice, alice_session):
    from review.services import correction_create

    _add_photos(alice_session, 3, correct_every=3)
    first = alice_session.photos.first()
    loupe = _queries(web, f"/photos/{first.uuid}/loupe/", HTTP_HX_REQUEST="true")
    seen_url = f"/sessions/{alice_session.uuid}/review/seen/"
    seen = _post_queries(web, seen_url, {"photos": [str(first.uuid)]})
    correction_create(photo=first, label="NOT_BLINKING", by=alice)
    undo = _post_queries(web, f"/sessions/{alice_session.uuid}/review/undo/", {"swap": "oob"})

    _add_photos(alice_session, 12, correct_every=3)
    assert _queries(web, f"/photos/{first.uuid}/loupe/", HTTP_HX_REQUEST="true") == loupe
    many = [str(u) for u in alice_session.photos.values_list("uuid", flat=True)]
    assert _post_queries(web, seen_url, {"photos": many}) == seen  # one UPDATE for any batch
    correction_create(photo=first, label="NOT_BLINKING", by=alice)
    assert _post_queries(web, f"/sessions/{alice_session.uuid}/review/undo/", {"swap": "oob"}) == undo
