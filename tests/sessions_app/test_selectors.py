"""Owner-scoped getters and the progress/groups readers."""
from __future__ import annotations

import uuid

import pytest
from django.http import Http404

from review import selectors as review
from sessions_app import selectors
from sessions_app.models import Photo
from tests.factories import make_client, make_model_version, make_photo, make_session

from .conftest import mark_done


def test_getters_return_own_items(alice, alice_session):
    c = make_client(alice)
    p = make_photo(alice_session)
    assert selectors.client_get_for_owner(owner=alice, client_uuid=c.uuid) == c
    assert selectors.session_get_for_owner(owner=alice, session_uuid=str(alice_session.uuid)) == alice_session
    assert selectors.photo_get_for_owner(owner=alice, photo_uuid=p.uuid) == p


def test_getters_raise_404_for_other_owners_and_junk(alice, bob, alice_session):
    c = make_client(alice)
    p = make_photo(alice_session)
    with pytest.raises(Http404):
        selectors.client_get_for_owner(owner=bob, client_uuid=c.uuid)
    with pytest.raises(Http404):
        selectors.session_get_for_owner(owner=bob, session_uuid=alice_session.uuid)
    with pytest.raises(Http404):
        selectors.photo_get_for_owner(owner=bob, photo_uuid=p.uuid)
    with pytest.raises(Http404):
        selectors.session_get_for_owner(owner=alice, session_uuid="not-a-uuid")
    with pytest.raises(Http404):
        selectors.photo_get_for_owner(owner=alice, photo_uuid=uuid.uuid4())


def test_lists_are_scoped_to_the_owner(alice, bob):
    make_session(alice)
    make_session(bob)
    make_client(bob)
    assert {s.owner for s in selectors.session_list(owner=alice)} == {alice}
    assert list(selectors.client_list(owner=alice)) == []


def test_session_list_orders_newest_shoot_first(alice):
    make_session(alice, title="old", shot_on="2025-01-01")
    make_session(alice, title="new", shot_on="2026-01-01")
    assert [s.title for s in selectors.session_list(owner=alice)][:2] == ["new", "old"]


def test_session_progress_counts_by_status(alice_session):
    mv = make_model_version()
    mark_done(make_photo(alice_session), p_closed=0.1, model_version=mv)
    make_photo(alice_session)
    make_photo(alice_session, status=Photo.Status.PROCESSING)
    make_photo(alice_session, name="b.jpg", status=Photo.Status.FAILED, error="file is truncated")
    make_photo(alice_session, name="a.jpg", status=Photo.Status.FAILED, error="corrupt JPEG file")
    pr = selectors.session_progress(session=alice_session)
    assert (pr.total, pr.queued, pr.processing, pr.done, pr.failed) == (5, 1, 1, 1, 2)
    assert (pr.finished, pr.pending, pr.percent, pr.is_active) == (3, 2, 60, True)
    assert [(p.original_filename, p.error) for p in pr.failures] == [("a.jpg", "corrupt JPEG file"), ("b.jpg", "file is truncated")]


def test_session_progress_of_an_empty_session(alice_session):
    pr = selectors.session_progress(session=alice_session)
    assert (pr.total, pr.percent, pr.is_active, pr.failures) == (0, 0, False, [])


def test_session_progress_caps_the_failure_list(alice_session, monkeypatch):
    monkeypatch.setattr(selectors, "FAILURES_SHOWN", 2)
    for _ in range(3):
        make_photo(alice_session, status=Photo.Status.FAILED, error="x")
    pr = selectors.session_progress(session=alice_session)
    assert (len(pr.failures), pr.more_failures) == (2, 1)


def test_sessions_blinking_counts(alice):
    mv = make_model_version()
    s1, s2 = make_session(alice), make_session(alice)
    mark_done(make_photo(s1), p_closed=0.9, model_version=mv)
    mark_done(make_photo(s1), p_closed=0.9, model_version=mv)
    mark_done(make_photo(s2), p_closed=0.1, model_version=mv)
    counts = review.sessions_blinking_counts(sessions=[s1, s2])
    assert counts.get(s1.id) == 2 and counts.get(s2.id, 0) == 0
    assert review.sessions_blinking_counts(sessions=[]) == {}
