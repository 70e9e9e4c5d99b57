"""Clients: services and the list/create/detail/edit/delete pages, each closed to other photographers."""
from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from sessions_app import services
from sessions_app.models import Client, PhotoSession
from tests.factories import make_client, make_session


def test_client_create_and_unique_name_per_owner(alice, bob):
    c = services.client_create(owner=alice, name="  Smith family ", email="smith@example.com")
    assert c.name == "Smith family"
    with pytest.raises(ValidationError) as exc_info:
        services.client_create(owner=alice, name="smith FAMILY")
    assert "already have a client" in str(exc_info.value)
    # Another photographer may use the same name.
    assert services.client_create(owner=bob, name="Smith family").owner == bob


def test_client_update_keeps_own_name_but_refuses_a_clash(alice):
    a = make_client(alice, "Ann")
    make_client(alice, "Ben")
    services.client_update(client=a, name="Ann", email="ann@example.com", notes="likes candids")
    a.refresh_from_db()
    assert (a.email, a.notes) == ("ann@example.com", "likes candids")
    with pytest.raises(ValidationError):
        services.client_update(client=a, name="ben")


def test_client_delete_keeps_sessions(alice):
    c = make_client(alice)
    s = make_session(alice, client=c)
    services.client_delete(client=c)
    s.refresh_from_db()
    assert s.client is None
    assert not Client.objects.filter(id=c.id).exists()


def test_client_list_page_shows_only_own_clients_with_counts(web, alice, bob):
    c = make_client(alice, "Ann")
    make_session(alice, client=c)
    make_session(alice, client=c)
    make_client(bob, "Bob's client")
    resp = web.get("/clients/")
    html = resp.content.decode()
    assert "Ann" in html and "Bob&#x27;s client" not in html
    assert [x.session_count for x in resp.context["clients"]] == [2]


def test_create_client_page(web, alice):
    assert web.get("/clients/new/").status_code == 200
    resp = web.post("/clients/new/", {"name": "Jones", "email": "j@example.com", "notes": ""})
    client = Client.objects.get(owner=alice)
    assert resp.status_code == 302 and resp["Location"] == f"/clients/{client.uuid}/"
    resp = web.post("/clients/new/", {"name": "jones"})
    assert resp.status_code == 200 and "already have a client" in resp.content.decode()


def test_client_detail_lists_their_sessions(web, alice):
    c = make_client(alice, "Ann")
    make_session(alice, client=c, title="Ann portraits")
    make_session(alice, title="Unrelated")
    html = web.get(f"/clients/{c.uuid}/").content.decode()
    assert "Ann portraits" in html and "Unrelated" not in html


def test_edit_client_page(web, alice):
    c = make_client(alice, "Ann")
    assert web.get(f"/clients/{c.uuid}/edit/").context["form"].initial["name"] == "Ann"
    resp = web.post(f"/clients/{c.uuid}/edit/", {"name": "Ann Lee", "email": "", "notes": "n"})
    assert resp.status_code == 302
    c.refresh_from_db()
    assert (c.name, c.notes) == ("Ann Lee", "n")


def test_delete_client_page_confirms_then_deletes(web, alice):
    c = make_client(alice, "Ann")
    s = make_session(alice, client=c)
    resp = web.get(f"/clients/{c.uuid}/delete/")
    assert "kept" in resp.content.decode()
    assert Client.objects.filter(id=c.id).exists()
    resp = web.post(f"/clients/{c.uuid}/delete/")
    assert resp.status_code == 302 and resp["Location"] == "/clients/"
    assert not Client.objects.filter(id=c.id).exists()
    assert PhotoSession.objects.filter(id=s.id).exists()


@pytest.mark.parametrize("suffix", ["", "edit/", "delete/"])
def test_other_photographer_gets_404_on_client_pages(bob_web, alice, suffix):
    c = make_client(alice, "Ann")
    assert bob_web.get(f"/clients/{c.uuid}/{suffix}").status_code == 404
    assert bob_web.post(f"/clients/{c.uuid}/{suffix}", {"name": "Hijacked"}).status_code == 404
    c.refresh_from_db()
    assert c.name == "Ann"


def test_client_pages_need_login(client, alice):
    c = make_client(alice)
    for url in ["/clients/", "/clients/new/", f"/clients/{c.uuid}/", f"/clients/{c.uuid}/edit/"]:
        assert client.get(url).status_code == 302
