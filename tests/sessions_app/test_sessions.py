"""Sessions: create (with an inline client), the session page, live progress, re-run, edit, delete."""
from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from sessions_app import services
from sessions_app.models import Client, Export, Photo, PhotoSession
from tests.factories import make_client, make_model_version, make_photo, make_session

from .conftest import mark_done


# --- services ---------------------------------------------------------------------------------------


def test_session_create_with_new_client_reuses_an_existing_name(alice):
    existing = make_client(alice, "Smith")
    s = services.session_create(owner=alice, title=" Spring ", new_client_name="smith")
    assert s.title == "Spring" and s.client == existing
    s2 = services.session_create(owner=alice, title="Summer", new_client_name="Jones")
    assert s2.client.name == "Jones" and s2.client.owner == alice


def test_session_create_refuses_someone_elses_client_and_empty_title(alice, bob):
    with pytest.raises(ValidationError):
        services.session_create(owner=alice, title="X", client=make_client(bob))
    with pytest.raises(ValidationError):
        services.session_create(owner=alice, title="   ")
    assert not PhotoSession.objects.exists()


def test_session_delete_removes_rows_and_every_stored_file(
    alice, alice_session, django_capture_on_commit_callbacks
):
    mv = make_model_version()
    photo = make_photo(alice_session)
    derived = f"derived/{photo.uuid}"
    photo.thumbnail.save(f"{derived}/thumb.jpg", ContentFile(b"t"), save=False)
    photo.preview.save(f"{derived}/preview.jpg", ContentFile(b"p"), save=False)
    photo.save()
    crop = default_storage.save(f"{derived}/eye-0-left.png", ContentFile(b"e"))
    stray = default_storage.save(f"{derived}/eye-0-right.png", ContentFile(b"e"))  # not named in the DB
    mark_done(photo, p_closed=0.9, model_version=mv, crops={"left": crop})
    export = Export.objects.create(session=alice_session, format=Export.Format.CSV)
    export.file.save("report.csv", ContentFile(b"a,b"), save=True)
    other = make_photo(make_session(alice))  # another session's file must stay
    names = [photo.original.name, photo.thumbnail.name, photo.preview.name, crop, stray, export.file.name]
    assert all(default_storage.exists(n) for n in names)

    with django_capture_on_commit_callbacks(execute=True):
        services.session_delete(session=alice_session)

    assert not PhotoSession.objects.filter(id=alice_session.id).exists()
    assert not Photo.objects.filter(id=photo.id).exists()
    assert [n for n in names if default_storage.exists(n)] == []
    assert not default_storage.exists(derived)  # empty folders go too (local storage)
    assert not default_storage.exists(f"photos/{alice_session.uuid}")
    assert not default_storage.exists(f"exports/{alice_session.uuid}")
    assert default_storage.exists("photos")  # top-level folders stay
    assert default_storage.exists(other.original.name)


def test_session_delete_tolerates_files_already_gone(alice_session, django_capture_on_commit_callbacks):
    photo = make_photo(alice_session)
    default_storage.delete(photo.original.name)
    with django_capture_on_commit_callbacks(execute=True):
        services.session_delete(session=alice_session)
    assert not PhotoSession.objects.exists()


# --- create / edit / delete pages -------------------------------------------------------------------


def test_new_session_page_offers_only_own_clients(web, alice, bob):
    make_client(alice, "Ann")
    make_client(bob, "Bob's client")
    html = web.get("/sessions/new/").content.decode()
    assert "Ann" in html and "Bob&#x27;s client" not in html


def test_create_session_with_existing_client(web, alice):
    c = make_client(alice, "Ann")
    resp = web.post("/sessions/new/", {"title": "Ann headshots", "shot_on": "2026-05-01", "client": str(c.uuid)})
    s = PhotoSession.objects.get()
    assert resp.status_code == 302 and resp["Location"] == f"/sessions/{s.uuid}/"
    assert (s.owner, s.client, str(s.shot_on)) == (alice, c, "2026-05-01")


def test_create_session_with_inline_new_client(web, alice):
    web.post("/sessions/new/", {"title": "Wedding", "new_client_name": "Kim & Lee"})
    s = PhotoSession.objects.get()
    assert s.client.name == "Kim & Lee" and s.client.owner == alice


def test_create_session_form_errors(web, alice, bob):
    c = make_client(alice, "Ann")
    resp = web.post("/sessions/new/", {"title": "X", "client": str(c.uuid), "new_client_name": "Other"})
    assert "not both" in resp.content.decode()
    resp = web.post("/sessions/new/", {"title": "X", "client": str(make_client(bob).uuid)})
    assert "valid choice" in resp.content.decode()
    resp = web.post("/sessions/new/", {"title": ""})
    assert resp.status_code == 200
    assert not PhotoSession.objects.exists()


def test_new_session_preselects_client_from_query(web, alice):
    c = make_client(alice, "Ann")
    form = web.get(f"/sessions/new/?client={c.uuid}").context["form"]
    assert form.initial["client"] == str(c.uuid)


def test_edit_session(web, alice, alice_session):
    assert web.get(f"/sessions/{alice_session.uuid}/edit/").status_code == 200
    resp = web.post(f"/sessions/{alice_session.uuid}/edit/", {"title": "Renamed", "new_client_name": "Fresh"})
    assert resp.status_code == 302
    alice_session.refresh_from_db()
    assert alice_session.title == "Renamed" and alice_session.client.name == "Fresh"


def test_delete_session_confirms_then_deletes(web, alice_session, django_capture_on_commit_callbacks):
    photo = make_photo(alice_session)
    resp = web.get(f"/sessions/{alice_session.uuid}/delete/")
    assert "1 photo" in resp.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        resp = web.post(f"/sessions/{alice_session.uuid}/delete/")
    assert resp.status_code == 302 and resp["Location"] == "/"
    assert not PhotoSession.objects.exists()
    assert not default_storage.exists(photo.original.name)


# --- the session page and its progress panel --------------------------------------------------------


def test_session_page_header(web, alice):
    c = make_client(alice, "Ann")
    s = make_session(alice, client=c, title="Ann portraits", shot_on="2026-04-03")
    make_photo(s)
    html = web.get(f"/sessions/{s.uuid}/").content.decode()
    assert "Ann portraits" in html and "Ann" in html and "April 2026" in html
    assert "1 photo" in html


def test_progress_polls_while_photos_are_pending_and_stops_when_done(web, alice_session):
    mv = make_model_version()
    photos = [make_photo(alice_session) for _ in range(3)]
    mark_done(photos[0], p_closed=0.1, model_version=mv)
    Photo.objects.filter(id=photos[1].id).update(status=Photo.Status.PROCESSING)
    url = f"/sessions/{alice_session.uuid}/progress/"
    resp = web.get(url)
    html = resp.content.decode()
    assert resp["Cache-Control"] == "no-store"
    assert "1 of 3 done" in html
    assert "every 2s" in html and f'hx-get="{url}"' in html
    assert "1 analysing, 1 waiting" in html

    for p in photos[1:]:
        mark_done(p, p_closed=0.1, model_version=mv)
    html = web.get(url).content.decode()
    assert "3 of 3 done" in html
    assert "every 2s" not in html  # the panel stops polling itself
    assert "eyespy:uploaded from:body" in html  # ...but wakes up when new uploads land


def test_progress_lists_failures_with_reasons_and_a_rerun_button(web, alice_session):
    ok = make_photo(alice_session, name="ok.jpg")
    bad = make_photo(alice_session, name="broken.jpg", status=Photo.Status.FAILED, error="file is truncated (image data ends early)")
    html = web.get(f"/sessions/{alice_session.uuid}/progress/").content.decode()
    assert "broken.jpg" in html and "file is truncated (image data ends early)" in html
    assert f'action="/sessions/{alice_session.uuid}/rerun/"' in html and "Re-run failed" in html
    assert "ok.jpg" not in html
    assert bad.id != ok.id


def test_group_counts_from_effective_labels(web, alice_session):
    mv = make_model_version()
    for p_closed in (0.95, 0.9, 0.05, None):
        mark_done(make_photo(alice_session), p_closed=p_closed, model_version=mv)
    make_photo(alice_session, status=Photo.Status.FAILED, error="not decodable")
    groups = web.get(f"/sessions/{alice_session.uuid}/").context["groups"]
    assert (groups.blinking, groups.not_blinking, groups.no_face, groups.unreadable) == (2, 1, 1, 1)


def test_group_counts_cover_every_finished_photo_like_the_review_screen(web, alice_session):
    # A photo marked done without any prediction is unreadable on the review screen; the session page
    # must count it too, so the four groups add up to the finished photos.
    mark_done(make_photo(alice_session), p_closed=0.9, model_version=make_model_version())
    make_photo(alice_session, status=Photo.Status.DONE)
    make_photo(alice_session, status=Photo.Status.FAILED, error="not decodable")
    context = web.get(f"/sessions/{alice_session.uuid}/").context
    groups, progress = context["groups"], context["progress"]
    assert (groups.blinking, groups.not_blinking, groups.no_face, groups.unreadable) == (1, 0, 0, 2)
    assert groups.total == progress.finished == 3


def test_review_link_appears_only_when_the_review_page_exists(web, alice_session, monkeypatch):
    from review.views import sessions as session_views

    mark_done(make_photo(alice_session), p_closed=0.9, model_version=make_model_version())
    monkeypatch.setattr(session_views, "_review_url", lambda s: None)
    assert "/review/" not in web.get(f"/sessions/{alice_session.uuid}/").content.decode()
    monkeypatch.setattr(session_views, "_review_url", lambda s: f"/sessions/{s.uuid}/review/")
    html = web.get(f"/sessions/{alice_session.uuid}/").content.decode()
    assert f'href="/sessions/{alice_session.uuid}/review/#blinking"' in html


def test_rerun_requeues_failed_photos(web, alice_session, enqueued, django_capture_on_commit_callbacks):
    done = mark_done(make_photo(alice_session), p_closed=0.1, model_version=make_model_version())
    bad = make_photo(alice_session, status=Photo.Status.FAILED, error="boom", attempts=3)
    with django_capture_on_commit_callbacks(execute=True):
        resp = web.post(f"/sessions/{alice_session.uuid}/rerun/", follow=True)
    assert "Re-running 1 photo." in [str(m) for m in resp.context["messages"]]
    bad.refresh_from_db()
    done.refresh_from_db()
    assert (bad.status, bad.error) == (Photo.Status.QUEUED, "")
    assert done.status == Photo.Status.DONE  # finished photos are left alone
    assert enqueued == [bad.id]


def test_rerun_from_htmx_returns_the_panel(web, alice_session):
    make_photo(alice_session, status=Photo.Status.FAILED, error="boom")
    resp = web.post(f"/sessions/{alice_session.uuid}/rerun/", HTTP_HX_REQUEST="true")
    html = resp.content.decode()
    assert resp.status_code == 200 and 'id="progress-panel"' in html and "every 2s" in html


def test_rerun_needs_post(web, alice_session):
    assert web.get(f"/sessions/{alice_session.uuid}/rerun/").status_code == 405


def test_session_page_shows_the_agreement_line_once_something_was_corrected(web, alice, alice_session):
    from review.services.corrections import correction_create
    from tests.review_builders import BLINK, OPEN, make_judged_photo

    flagged = [make_judged_photo(alice_session, faces=BLINK) for _ in range(3)]
    passed = [make_judged_photo(alice_session, faces=OPEN) for _ in range(2)]
    html = web.get(f"/sessions/{alice_session.uuid}/").content.decode()
    assert 'id="agreement"' not in html and "How the model did" not in html  # nothing corrected yet

    correction_create(photo=flagged[0], label="NOT_BLINKING", by=alice)  # kept one the model flagged
    correction_create(photo=passed[0], label="BLINKING", by=alice)  # caught a blink the model missed
    resp = web.get(f"/sessions/{alice_session.uuid}/")
    html = resp.content.decode()
    assert 'id="agreement"' in html
    assert "You looked at 2 of 5; of those the model flagged 1 and you kept 1; 1 reject was missed." in html
    assert "Agreement 0% on those; you decided 2." in html
    assert resp.context["agreement"].corrected == 2


# --- privacy ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "edit/", "delete/", "progress/"])
def test_other_photographer_gets_404_on_session_pages(bob_web, alice_session, suffix):
    assert bob_web.get(f"/sessions/{alice_session.uuid}/{suffix}").status_code == 404


@pytest.mark.parametrize("suffix", ["edit/", "delete/", "rerun/"])
def test_other_photographer_cannot_change_a_session(bob_web, alice_session, suffix, enqueued):
    failed = make_photo(alice_session, status=Photo.Status.FAILED, error="boom")
    resp = bob_web.post(f"/sessions/{alice_session.uuid}/{suffix}", {"title": "Hijacked"})
    assert resp.status_code == 404
    alice_session.refresh_from_db()
    failed.refresh_from_db()
    assert alice_session.title == "Smith family" and failed.status == Photo.Status.FAILED
    assert enqueued == []


def test_bob_cannot_attach_his_session_to_alices_client(bob_web, bob, alice):
    alices = make_client(alice, "Ann")
    bob_web.post("/sessions/new/", {"title": "Mine", "client": str(alices.uuid)})
    assert not PhotoSession.objects.filter(owner=bob).exists()
    assert Client.objects.filter(owner=bob).count() == 0


def test_polled_panel_also_refreshes_the_header_photo_count(web, alice_session):
    make_photo(alice_session)
    page = web.get(f"/sessions/{alice_session.uuid}/").content.decode()
    assert '<span id="session-photo-count">1 photo</span>' in page  # plain on the full page
    make_photo(alice_session)
    panel = web.get(f"/sessions/{alice_session.uuid}/progress/").content.decode()
    assert '<span id="session-photo-count" hx-swap-oob="true">2 photos</span>' in panel
