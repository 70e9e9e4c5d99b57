"""The dashboard: a photographer's own sessions with photo, done and blinking counts."""
from __future__ import annotations

from sessions_app.models import Photo
from tests.factories import make_client, make_model_version, make_photo, make_session

from .conftest import mark_done


def test_dashboard_lists_own_sessions_with_counts(web, alice, bob):
    c = make_client(alice, "Ann")
    s = make_session(alice, client=c, title="Ann portraits")
    mv = make_model_version()
    mark_done(make_photo(s), p_closed=0.95, model_version=mv)
    mark_done(make_photo(s), p_closed=0.05, model_version=mv)
    make_photo(s)  # still queued
    make_photo(s, status=Photo.Status.FAILED, error="boom")
    make_session(bob, title="Bob's secret shoot")

    resp = web.get("/")
    html = resp.content.decode()
    assert "Ann portraits" in html and "Bob&#x27;s secret shoot" not in html
    (row,) = resp.context["sessions"]
    assert (row.photo_count, row.done_count, row.failed_count, row.pending_count) == (4, 2, 1, 1)
    assert row.blinking_count == 1
    assert "1 left" in html and "1 failed" in html


def test_dashboard_blinking_count_is_blank_until_something_is_done(web, alice):
    s = make_session(alice)
    make_photo(s)
    (row,) = web.get("/").context["sessions"]
    assert row.blinking_count is None


def test_dashboard_empty_state_invites_a_first_session(web):
    html = web.get("/").content.decode()
    assert "No sessions yet" in html and 'href="/sessions/new/"' in html


def test_dashboard_paginates(web, alice):
    for i in range(27):
        make_session(alice, title=f"S{i}")
    assert len(web.get("/").context["sessions"]) == 25
    assert len(web.get("/?page=2").context["sessions"]) == 2


def test_dashboard_query_count_does_not_grow_with_sessions(web, alice, django_assert_max_num_queries):
    mv = make_model_version()
    for _ in range(10):
        s = make_session(alice, client=make_client(alice))
        mark_done(make_photo(s), p_closed=0.9, model_version=mv)
    with django_assert_max_num_queries(15):
        web.get("/")


def test_dashboard_needs_login(client):
    assert client.get("/").status_code == 302
