"""Every page under the `sessions` namespace that takes an id answers 404 to another photographer.

The sweep reads the URL patterns themselves, so a view added later is covered automatically; a new kind
of id in a URL must be taught to `_fill` below (the test fails until it is).
"""
from __future__ import annotations

import json
import re

import pytest
from django.core.files.base import ContentFile
from django.test import Client as WebClient
from django.urls import URLPattern

from galleries.access import new_token
from sessions_app.models import Client, Export, Gallery, GalleryPhoto, Selection, SelectionItem
from tests.factories import make_client, make_model_version, make_photo
from tests.url_patterns import namespace_patterns

from .conftest import mark_done

ROUTES_WITH_IDS = [(r, p) for r, p in namespace_patterns("sessions") if p.pattern.converters]


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
    gallery = Gallery.objects.create(session=alice_session, title="G", token=new_token())
    item = GalleryPhoto.objects.create(gallery=gallery, photo=photo)
    selection = Selection.objects.create(gallery=gallery, name="Jane", email="jane@example.com")
    SelectionItem.objects.create(selection=selection, gallery_photo=item, action=SelectionItem.Action.FAVOURITE)
    return {"session": alice_session, "photo": photo, "client": client, "export": export, "gallery": gallery,
            "selection": selection, "item": item}


FIXED_VALUES = {"fmt": "csv", "action": "seen", "size": "480", "key": "testwide"}


def _fill(route: str, pattern: URLPattern, things: dict) -> str:
    url = "/" + route
    for name in pattern.pattern.converters:
        if name == "face":
            value = "0"
        elif name == "side":
            value = "left"
        elif name in FIXED_VALUES:
            value = FIXED_VALUES[name]
        elif name == "token":
            value = things["gallery"].token
        else:
            kind = next((k for k in ("session", "photo", "client", "export", "gallery", "selection", "item")
                         if name.startswith(k)), None)
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
        "sessions/<uuid:session_uuid>/upload/", "sessions/<uuid:session_uuid>/upload/direct/",
        "sessions/<uuid:session_uuid>/upload/direct/done/", "sessions/<uuid:session_uuid>/progress/",
        "sessions/<uuid:session_uuid>/rerun/", "photos/<uuid:photo_uuid>/thumb/", "photos/<uuid:photo_uuid>/preview/",
        "photos/<uuid:photo_uuid>/original/", "photos/<uuid:photo_uuid>/eye/<int:face>/<str:side>/",
        "galleries/<uuid:gallery_uuid>/", "galleries/<uuid:gallery_uuid>/export/<str:fmt>/",
        "galleries/<uuid:gallery_uuid>/guests/<uuid:selection_uuid>/<str:action>/",
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


# --- Mutations: POST only, and never without the CSRF token ------------------------------------------


ALL_ROUTES = namespace_patterns("sessions")
ACCOUNT_POSTS = ["/accounts/login/", "/accounts/login/unlock/", "/accounts/logout/", "/accounts/signup/",
                 "/accounts/password/change/", "/accounts/password/reset/"]


def _db_rows() -> dict[str, list[dict]]:
    """Every row a photographer's actions can create, change or delete, in full."""
    from classifier.models import Correction, Prediction
    from sessions_app.models import Client, Photo, PhotoSession

    return {m.__name__: list(m.objects.order_by("pk").values())
            for m in (Client, PhotoSession, Photo, Export, Correction, Prediction, Gallery, GalleryPhoto, Selection,
                      SelectionItem)}


@pytest.fixture
def alice_csrf_web(alice):
    c = WebClient(enforce_csrf_checks=True)  # the test client skips CSRF checks unless asked
    c.force_login(alice)
    return c


@pytest.mark.parametrize(("route", "pattern"), ALL_ROUTES, ids=[r for r, _ in ALL_ROUTES])
def test_posts_without_the_csrf_token_are_refused(alice_csrf_web, alices_things, route, pattern, enqueued):
    url = _fill(route, pattern, alices_things)
    before = _db_rows()
    resp = alice_csrf_web.post(url, {"title": "x", "name": "x", "label": "NOT_BLINKING", "photos": [
        str(alices_things["photo"].uuid)], "action": "BLINKING", "strictness": "0.9", "format": "csv"})
    assert resp.status_code == 403, (url, resp.status_code)
    assert _db_rows() == before and enqueued == []


@pytest.mark.parametrize("url", ACCOUNT_POSTS)
def test_account_forms_refuse_posts_without_the_csrf_token(alice_csrf_web, url):
    assert alice_csrf_web.post(url, {"email": "alice@example.com", "password": "x"}).status_code == 403


def test_the_token_from_the_page_or_the_htmx_header_is_accepted(alice_csrf_web, alices_things):
    # The control for the 403s above: the same client gets through once it sends the token.
    page = alice_csrf_web.get("/clients/new/")
    token = str(page.context["csrf_token"])
    resp = alice_csrf_web.post("/clients/new/", {"name": "Jones", "csrfmiddlewaretoken": token})
    assert resp.status_code == 302 and Client.objects.filter(name="Jones").exists()
    photo = alices_things["photo"]
    resp = alice_csrf_web.post(f"/photos/{photo.uuid}/correct/", {"label": "NOT_BLINKING"},
                               HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN=token)
    assert resp.status_code == 200 and photo.corrections.count() == 1


@pytest.mark.parametrize(("route", "pattern"), ALL_ROUTES, ids=[r for r, _ in ALL_ROUTES])
def test_get_never_changes_anything(web, alices_things, route, pattern, enqueued):
    # Links, prefetching and crawlers follow GETs: every change must need a POST (confirm pages included).
    url = _fill(route, pattern, alices_things)
    before = _db_rows()
    assert web.get(url).status_code < 500, url
    assert _db_rows() == before and enqueued == []


# --- Gallery links: every URL of the `gallery` namespace (/g/<token>/...) ---------------------------------


GALLERY_ROUTES = namespace_patterns("gallery")
# Without a guest cookie these two still answer (the entry form, and entering); all others need a guest.
ENTRY_ROUTES = {"g/<str:token>/", "g/<str:token>/enter/"}
GUEST_POST = {"name": "Mallory", "email": "m@example.com", "password": "x", "favourite": "1", "comment": "hi"}


def _guest(gallery: Gallery) -> WebClient:
    web = WebClient()
    assert web.post(f"/g/{gallery.token}/enter/", {"name": "Jane", "email": "jane@example.com"}).status_code == 302
    return web


def _unavailable(resp) -> bool:
    return resp.status_code == 404 and b"This gallery isn't available" in resp.content


def test_the_gallery_sweep_covers_every_public_view():
    routes = {r for r, _ in GALLERY_ROUTES}
    assert {"g/<str:token>/", "g/<str:token>/enter/", "g/<str:token>/submit/",
            "g/<str:token>/p/<uuid:item_uuid>/<int:size>.jpg", "g/<str:token>/p/<uuid:item_uuid>/download/",
            "g/<str:token>/p/<uuid:item_uuid>/favourite/", "g/<str:token>/p/<uuid:item_uuid>/comment/"} <= routes


def _wrong_tokens(token: str) -> list[str]:
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    return [new_token(), flipped, token[:-1], token.upper() if token.upper() != token else token.lower(), "0" * 43]


@pytest.mark.parametrize(("route", "pattern"), GALLERY_ROUTES, ids=[r for r, _ in GALLERY_ROUTES])
def test_wrong_revoked_and_expired_links_serve_nothing(alices_things, route, pattern):
    from django.utils import timezone

    gallery = alices_things["gallery"]
    guest = _guest(gallery)
    url = _fill(route, pattern, alices_things)
    before = _db_rows()
    bodies = set()
    for token in _wrong_tokens(gallery.token):
        for resp in (guest.get(url.replace(gallery.token, token)), guest.post(url.replace(gallery.token, token),
                                                                                GUEST_POST)):
            assert _unavailable(resp) or resp.status_code == 405, (token, resp.status_code)  # 405: any token alike
            if resp.status_code == 404:
                bodies.add(resp.content)
    for change in ({"revoked_at": timezone.now()}, {"expires_at": timezone.now() - timezone.timedelta(minutes=1)}):
        Gallery.objects.filter(pk=gallery.pk).update(**change)
        for resp in (guest.get(url), guest.post(url, GUEST_POST)):
            assert _unavailable(resp) or resp.status_code == 405, (change, resp.status_code)
            if resp.status_code == 404:
                bodies.add(resp.content)
        Gallery.objects.filter(pk=gallery.pk).update(revoked_at=None, expires_at=None)
    assert len(bodies) == 1  # one page for every case: an answer never tells which it was
    rows = _db_rows()
    rows["Selection"] = before["Selection"] = []  # the guest entering above is the only change
    assert rows == before


@pytest.mark.parametrize(("route", "pattern"), [(r, p) for r, p in GALLERY_ROUTES if r not in ENTRY_ROUTES],
                         ids=[r for r, _ in GALLERY_ROUTES if r not in ENTRY_ROUTES])
def test_gallery_urls_need_an_entered_guest_of_that_gallery(alices_things, alice_session, route, pattern):
    other = Gallery.objects.create(session=alice_session, title="Other", token=new_token())
    url = _fill(route, pattern, alices_things)
    stranger, other_guest = WebClient(), _guest(other)
    before = _db_rows()
    for web in (stranger, other_guest):
        for resp in (web.get(url), web.post(url, GUEST_POST)):
            assert _unavailable(resp) or resp.status_code == 405, resp.status_code
    # A forged cookie naming Jane's selection, unsigned (other_guest's is signed for the other gallery).
    stranger.cookies["eyespy_guest"] = json.dumps({"s": str(alices_things["selection"].uuid), "u": ""})
    resp = stranger.post(url, GUEST_POST)
    assert _unavailable(resp) or resp.status_code == 405
    assert _db_rows() == before


@pytest.mark.parametrize(("route", "pattern"), GALLERY_ROUTES, ids=[r for r, _ in GALLERY_ROUTES])
def test_gallery_posts_without_the_csrf_token_are_refused(alices_things, route, pattern):
    gallery = alices_things["gallery"]
    web = WebClient(enforce_csrf_checks=True)
    web.cookies.update(_guest(gallery).cookies)
    url = _fill(route, pattern, alices_things)
    before = _db_rows()
    assert web.post(url, GUEST_POST).status_code == 403
    assert _db_rows() == before


@pytest.mark.parametrize(("route", "pattern"), GALLERY_ROUTES, ids=[r for r, _ in GALLERY_ROUTES])
def test_gallery_gets_never_change_anything(alices_things, route, pattern):
    guest = _guest(alices_things["gallery"])
    url = _fill(route, pattern, alices_things)
    before = _db_rows()
    assert guest.get(url).status_code < 500
    assert _db_rows() == before
