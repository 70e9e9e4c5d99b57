"""Staff admin pages for the platform models render and search."""
from __future__ import annotations

import pytest
from django.test import Client as WebClient

from sessions_app.models import Export, Photo
from tests.factories import make_client, make_photo, make_session, make_user


@pytest.fixture
def staff(db) -> WebClient:
    c = WebClient()
    c.force_login(make_user("ops@example.com", is_staff=True, is_superuser=True))
    return c


@pytest.fixture
def data(alice):
    s = make_session(alice, client=make_client(alice, "Ann"), title="Ann portraits")
    p = make_photo(s, name="IMG_7.JPG", status=Photo.Status.FAILED, error="boom")
    Export.objects.create(session=s, format=Export.Format.CSV, requested_by=alice)
    return s, p


@pytest.mark.parametrize("model", ["user", "client", "photosession", "photo", "export"])
def test_changelists_and_change_pages_render(staff, data, model):
    resp = staff.get(f"/admin/sessions_app/{model}/")
    assert resp.status_code == 200
    first = resp.context["cl"].result_list[0]
    assert staff.get(f"/admin/sessions_app/{model}/{first.pk}/change/").status_code == 200


def test_search_by_owner_email_and_file_name(staff, data):
    resp = staff.get("/admin/sessions_app/photo/", {"q": "IMG_7"})
    assert [p.original_filename for p in resp.context["cl"].result_list] == ["IMG_7.JPG"]
    resp = staff.get("/admin/sessions_app/photosession/", {"q": "alice@example.com"})
    assert [s.title for s in resp.context["cl"].result_list] == ["Ann portraits"]


def test_add_user_with_email(staff):
    resp = staff.get("/admin/sessions_app/user/add/")
    assert resp.status_code == 200
    resp = staff.post(
        "/admin/sessions_app/user/add/",
        {"email": "new@example.com", "name": "New", "usable_password": "true",
         "password1": "a-long-secret-77", "password2": "a-long-secret-77"},
    )
    assert resp.status_code == 302
    from sessions_app.models import User

    assert User.objects.get(email="new@example.com").check_password("a-long-secret-77")


def test_requeue_action_uses_the_classifier_service(staff, data, enqueued, django_capture_on_commit_callbacks):
    _, photo = data
    with django_capture_on_commit_callbacks(execute=True):
        resp = staff.post(
            "/admin/sessions_app/photo/", {"action": "requeue_photos", "_selected_action": [photo.pk]}, follow=True
        )
    assert resp.status_code == 200
    photo.refresh_from_db()
    assert photo.status == Photo.Status.QUEUED and enqueued == [photo.pk]


def test_photographers_cannot_open_the_admin(web):
    resp = web.get("/admin/")
    assert resp.status_code == 302 and "/admin/login/" in resp["Location"]
