"""Guests are bounded: entries per address per gallery per hour, guests per gallery, notes per selection per
minute and in all (answered 429 with a reason); one email is one selection (coming back resumes it); and the
photographer sees whose selection is whose."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client as WebClient
from django.utils import timezone

from galleries import guest_limits, services
from galleries.selections import selection_set_favourite, selection_submit
from sessions_app.models import Selection, SelectionItem
from tests.gallery_builders import GUEST_PASSWORD, enter, judged_shoot, make_gallery


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    monkeypatch.setattr(services, "gallery_previews_enqueue", lambda *, gallery: None)


@pytest.fixture
def shoot(alice_session):
    return judged_shoot(alice_session)


@pytest.fixture
def gallery(alice_session, shoot):
    return make_gallery(alice_session, shoot[0], max_picks=2, password=GUEST_PASSWORD)


def _key(gallery, n=0) -> str:
    return str(gallery.items.order_by("position")[n].uuid)


def _post_entry(gallery, *, email, ip="203.0.113.5", name="Guest"):
    return WebClient(REMOTE_ADDR=ip).post(f"/g/{gallery.token}/enter/",
                                          {"name": name, "email": email, "password": GUEST_PASSWORD})


def _comment(web, gallery, text, n=0):
    resp = web.post(f"/g/{gallery.token}/p/{_key(gallery, n)}/comment/", {"comment": text},
                    HTTP_ACCEPT="application/json")
    return resp, json.loads(resp.content)


def test_the_same_email_on_another_device_resumes_that_guests_selection(gallery):
    jane = enter(gallery)
    jane.post(f"/g/{gallery.token}/p/{_key(gallery)}/favourite/", {"favourite": "1"}, HTTP_ACCEPT="application/json")
    laptop = enter(gallery, name="Janie", email=" JANE@example.com")  # no cookie: a new device
    assert Selection.objects.count() == 1
    page = laptop.get(f"/g/{gallery.token}/").content.decode()
    assert "Hello Jane " in page and "1</strong> of 2 selected" in page  # her name and hearts, as they were


def test_a_sent_selection_cant_be_sent_again_under_the_same_email(gallery):
    jane = Selection.objects.create(gallery=gallery, name="Jane", email="jane@example.com")
    selection_set_favourite(selection=jane, item=gallery.items.first(), favourite=True)
    selection_submit(selection=jane)
    again = enter(gallery)  # cookies cleared
    assert Selection.objects.count() == 1
    assert "Your selection is locked" in again.get(f"/g/{gallery.token}/").content.decode()
    resp = again.post(f"/g/{gallery.token}/submit/", HTTP_ACCEPT="application/json")
    assert resp.status_code == 409 and "can't be changed" in json.loads(resp.content)["error"]


def test_entries_from_one_address_are_bounded_per_gallery_per_hour(alice_session, shoot, gallery, clock):
    for n in range(guest_limits.ENTRIES_PER_ADDRESS.attempts):
        assert _post_entry(gallery, email=f"guest{n}@example.com").status_code == 302
    resp = _post_entry(gallery, email="one-more@example.com")
    assert resp.status_code == 429 and int(resp["Retry-After"]) > 3000
    assert "Too many entries to this gallery from your address; try again in 60 minutes." in resp.content.decode()
    assert Selection.objects.count() == guest_limits.ENTRIES_PER_ADDRESS.attempts
    # Another address, or another gallery from the same address, still gets in; so does this one an hour on.
    assert _post_entry(gallery, email="next-door@example.com", ip="198.51.100.7").status_code == 302
    other = make_gallery(alice_session, shoot[0], title="Other", password=GUEST_PASSWORD)
    assert _post_entry(other, email="one-more@example.com").status_code == 302
    clock(3601)
    assert _post_entry(gallery, email="one-more@example.com").status_code == 302


def test_a_gallery_takes_a_bounded_number_of_guests(gallery, monkeypatch):
    monkeypatch.setattr(guest_limits, "GUESTS_MAX", 3)
    for n in range(3):
        assert _post_entry(gallery, email=f"guest{n}@example.com", ip=f"10.0.0.{n}").status_code == 302
    resp = _post_entry(gallery, email="fourth@example.com", ip="10.0.0.9")
    assert resp.status_code == 429 and "room for 3 guests" in resp.content.decode()
    assert Selection.objects.count() == 3
    assert _post_entry(gallery, email="guest1@example.com", ip="10.0.0.9").status_code == 302  # a guest coming back


def test_notes_are_bounded_per_minute_and_in_all(gallery, clock, monkeypatch):
    web = enter(gallery)
    for n in range(guest_limits.COMMENTS_PER_SELECTION.attempts):
        assert _comment(web, gallery, f"note {n}")[0].status_code == 200
    resp, body = _comment(web, gallery, "one too many")
    assert resp.status_code == 429 and body["error"] == "Too many notes in a short time; try again in 1 minute."
    assert 0 < int(resp["Retry-After"]) <= 60
    clock(61)
    assert _comment(web, gallery, "a minute later")[0].status_code == 200

    monkeypatch.setattr(guest_limits, "COMMENTS_MAX", SelectionItem.objects.filter(action="comment").count())
    clock(61)
    resp, body = _comment(web, gallery, "over the total", n=1)
    assert resp.status_code == 429 and "reached the most this selection can hold" in body["error"]
    assert _comment(web, gallery, "a minute later")[0].status_code == 200  # unchanged: nothing stored, fine


def test_the_photographer_sees_whose_selection_is_whose(web, bob_web, gallery):
    entered = timezone.make_aware(dt.datetime(2026, 5, 4, 9, 30))
    jane = Selection.objects.create(gallery=gallery, name="Jane", email="jane@example.com", created_at=entered)
    Selection.objects.create(gallery=gallery, name="Tom", email="tom@example.com")
    selection_set_favourite(selection=jane, item=gallery.items.first(), favourite=True)
    selection_submit(selection=jane)
    Selection.objects.filter(pk=jane.pk).update(submitted_at=entered + dt.timedelta(days=1, hours=2))
    page = web.get(f"/galleries/{gallery.uuid}/").content.decode()
    row = page[page.index("Jane"):page.index("Tom")]
    assert "jane@example.com" in row and "entered 4 May 09:30" in row and "sent 5 May 11:30" in row
    assert "tom@example.com" in page and "choosing" in page
    assert bob_web.get(f"/galleries/{gallery.uuid}/").status_code == 404
