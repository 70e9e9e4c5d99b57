"""Every page under the `sessions` namespace that takes an id answers 404 to another photographer.

The sweep reads the URL patterns themselves, so a view added later is covered automatically; a new kind
of id in a URL must be taught to `_fill` below (the test fails until it is).
"""
from __future__ import annotations

import re

import pytest
from django.core.files.base import ContentFile
from django.urls import URLPattern, URLResolver, get_resolver

from sessions_app.models import Export
from tests.factories import make_client, make_model_version, make_photo

from .conftest import mark_done


def _session_patterns() -> list[tuple[str, URLPattern]]:
    """(route, pattern) for every URL in the `sessions` namespace."""
    out: list[tuple[str, URLPattern]] = []

    def walk(resolver: URLResolver, prefix: str, in_ns: bool) -> None:
        for p in resolver.url_patterns:
            if isinstance(p, URLResolver):
                walk(p, prefix + str(p.pattern), in_ns or p.namespace == "sessions")
            elif in_ns:
                out.append((prefix + str(p.pattern), p))

    walk(get_resolver(), "", False)
    return out


ROUTES_WITH_IDS = [(r, p) for r, p in _session_patterns() if p.pattern.converters]


@pytest.fixture
def alices_things(alice, alice_session):
    client = make_client(alice)
    photo = make_photo(alice_session)
    photo.thumbnail.save(f"derived/{photo.uuid}/thumb.jpg", ContentFile(b"t"), save=False)
    photo.preview.save(f"derived/{photo.uuid}/preview.jpg", ContentFile(b"p"), save=False)
    photo.save()
    mark_done(photo, p_closed=0.9, model_version=make_model_version(), crops={"left": f"derived/{photo.uuid}/eye.png"})
    export = Export.objects.create(session=alice_session, format=Export.Format.CSV, requested_by=alice)
    export.file.save("x.csv", ContentFile(b"a"), save=True)
    return {"session": alice_session, "photo": photo, "client": client, "export": export}


def _fill(route: str, pattern: URLPattern, things: dict) -> str:
    url = "/" + route
    for name in pattern.pattern.converters:
        if name == "face":
            value = "0"
        elif name == "side":
            value = "left"
        else:
            kind = next((k for k in ("session", "photo", "client", "export") if name.startswith(k)), None)
            if kind is None:
                pytest.fail(f"{route}: teach test_privacy._fill about the URL parameter {name!r}")
            value = str(things[kind].uuid)
        url = re.sub(rf"<(?:\w+:)?{name}>", value, url)
    assert "<" not in url, f"unfilled parameter in {url}"
    return url


def test_the_sweep_covers_the_platform_views():
    routes = {r for r, _ in ROUTES_WITH_IDS}
    for expected in [
        "clients/<uuid:client_uuid>/", "clients/<uuid:client_uuid>/edit/", "clients/<uuid:client_uuid>/delete/",
        "sessions/<uuid:session_uuid>/", "sessions/<uuid:session_uuid>/edit/", "sessions/<uuid:session_uuid>/delete/",
        "sessions/<uuid:session_uuid>/upload/", "sessions/<uuid:session_uuid>/progress/",
        "sessions/<uuid:session_uuid>/rerun/", "photos/<uuid:photo_uuid>/thumb/", "photos/<uuid:photo_uuid>/preview/",
        "photos/<uuid:photo_uuid>/original/", "photos/<uuid:photo_uuid>/eye/<int:face>/<str:side>/",
    ]:
        assert expected in routes


@pytest.mark.parametrize(("route", "pattern"), ROUTES_WITH_IDS, ids=[r for r, _ in ROUTES_WITH_IDS])
def test_another_photographer_gets_404(bob_web, alices_things, route, pattern, enqueued):
    url = _fill(route, pattern, alices_things)
    answers = {
        "GET": bob_web.get(url).status_code,
        "POST": bob_web.post(url, {"title": "x", "name": "x", "label": "NOT_BLINKING"}).status_code,
        "POST json": bob_web.post(url, {}, HTTP_ACCEPT="application/json").status_code,
    }
    # 405 (wrong method) reveals nothing; anything else must be 404.
    assert set(answers.values()) <= {404, 405}, answers
    assert 404 in answers.values(), answers
    assert enqueued == []


@pytest.mark.parametrize(("route", "pattern"), ROUTES_WITH_IDS, ids=[r for r, _ in ROUTES_WITH_IDS])
def test_logged_out_visitors_get_nothing(client, alices_things, route, pattern):
    url = _fill(route, pattern, alices_things)
    for resp in (client.get(url), client.post(url, HTTP_ACCEPT="application/json")):
        assert resp.status_code in (302, 401, 405), (url, resp.status_code)
        if resp.status_code == 302:
            assert resp["Location"].startswith("/accounts/login/")
