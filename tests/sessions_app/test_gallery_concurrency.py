"""Two quick taps at once can't both pass the favourites limit: the heart locks the selection row first.
Two entries at once with one email make one selection: entering locks the gallery row first.

Real concurrent transactions need a database with row locks and connections per thread: PostgreSQL (the
`bin/test` PostgreSQL pass runs it). On SQLite every write transaction is BEGIN IMMEDIATE, one writer at a
time, so the same check holds by construction; its shared-cache test database can't run this test.
"""
from __future__ import annotations

import threading

import pytest
from django.db import connection

from galleries import services
from galleries.selections import SelectionError, selection_set_favourite
from galleries.selectors import pick_count, selection_choices
from sessions_app.models import Selection
from tests.gallery_builders import judged_shoot, make_gallery

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs PostgreSQL row locks")]


def test_two_taps_at_the_same_moment_give_one_heart_and_one_refusal(alice_session, monkeypatch):
    monkeypatch.setattr(services, "gallery_previews_enqueue", lambda *, gallery: None)
    keep, _ = judged_shoot(alice_session, keepers=3, blinks=0)
    gallery = make_gallery(alice_session, keep, max_picks=2, previews=False)
    items = list(gallery.items.order_by("position"))
    jane = Selection.objects.create(gallery=gallery, name="Jane", email="jane@example.com")
    selection_set_favourite(selection=jane, item=items[0], favourite=True)
    start, results = threading.Barrier(2), []

    def tap(item):
        try:
            start.wait()
            selection_set_favourite(selection=jane, item=item, favourite=True)
            results.append("heart")
        except SelectionError:
            results.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=tap, args=(item,)) for item in items[1:]]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == ["heart", "refused"]
    assert pick_count(selection_choices(selection=jane)) == 2


def test_two_entries_at_once_with_one_email_make_one_selection(alice_session, monkeypatch):
    from galleries.selections import selection_enter

    monkeypatch.setattr(services, "gallery_previews_enqueue", lambda *, gallery: None)
    keep, _ = judged_shoot(alice_session, keepers=1, blinks=0)
    gallery = make_gallery(alice_session, keep, previews=False)
    start, results = threading.Barrier(2), []

    def come_in(ip):
        try:
            start.wait()
            results.append(selection_enter(gallery=gallery, name="Jane", email="jane@example.com", client_ip=ip).pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=come_in, args=(ip,)) for ip in ("10.0.0.1", "10.0.0.2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 2 and len(set(results)) == 1
    assert Selection.objects.filter(gallery=gallery).count() == 1
