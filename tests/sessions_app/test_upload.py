"""photo_upload (stored by sessions_app.services.photo_store, queued by classifier.services) and
sessions/<uuid>/upload/ (the endpoint upload.js and the plain form use)."""
from __future__ import annotations

import hashlib

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from classifier import services as classifier_services
from sessions_app import services
from sessions_app.models import Photo
from tests.factories import jpeg_bytes, make_session, pdf_bytes, png_bomb_bytes, truncated_jpeg_bytes

from .conftest import GARBAGE_BYTES, png_bytes

JSON = {"HTTP_ACCEPT": "application/json"}


def upload_url(session) -> str:
    return f"/sessions/{session.uuid}/upload/"


def _upload(session, data: bytes, name: str = "IMG_0001.JPG") -> services.UploadResult:
    """An upload as the view makes it: checked and stored by sessions_app, queued by the classifier."""
    return classifier_services.photo_upload(session=session, fileobj=ContentFile(data, name=name), filename=name)


# --- the service ------------------------------------------------------------------------------------


def test_upload_stores_under_generated_name_and_enqueues_after_commit(
    alice_session, enqueued, django_capture_on_commit_callbacks
):
    data = jpeg_bytes()
    with django_capture_on_commit_callbacks(execute=True):
        result = _upload(alice_session, data, name="../../etc/Smith wedding 001.JPG")
        assert enqueued == []  # nothing is sent before the row is committed
    photo = result.photo
    assert result.duplicate is False
    assert photo.original.name == f"photos/{alice_session.uuid}/{photo.uuid.hex}.jpg"
    assert photo.original_filename == "Smith wedding 001.JPG"  # kept as data, path stripped
    assert photo.sha256 == hashlib.sha256(data).hexdigest()
    assert (photo.bytes, photo.content_type, photo.extension) == (len(data), "image/jpeg", ".jpg")
    assert photo.status == Photo.Status.QUEUED
    assert default_storage.open(photo.original.name).read() == data
    assert enqueued == [photo.id]


def test_upload_detects_type_by_content_not_extension(alice_session):
    photo = _upload(alice_session, png_bytes(), name="holiday.jpg").photo
    assert (photo.content_type, photo.extension) == ("image/png", ".png")
    assert photo.original.name.endswith(".png")


def test_duplicate_in_same_session_is_skipped_without_storing(alice_session, enqueued, django_capture_on_commit_callbacks):
    data = jpeg_bytes()
    with django_capture_on_commit_callbacks(execute=True):
        first = _upload(alice_session, data, name="a.jpg")
        second = _upload(alice_session, data, name="copy of a.jpg")
    assert second.duplicate is True
    assert second.photo.id == first.photo.id
    assert Photo.objects.filter(session=alice_session).count() == 1
    assert enqueued == [first.photo.id]
    _, files = default_storage.listdir(f"photos/{alice_session.uuid}")
    assert len(files) == 1


def test_same_file_in_another_session_is_not_a_duplicate(alice, alice_session):
    data = jpeg_bytes()
    _upload(alice_session, data)
    other = _upload(make_session(alice), data)
    assert other.duplicate is False


def test_duplicate_race_is_settled_by_the_unique_constraint(alice_session, monkeypatch):
    data = jpeg_bytes()
    first = _upload(alice_session, data).photo
    real_lookup = services.photos.photo_duplicate
    lookups = []

    def racing_lookup(**kw):
        # The first check runs before the other request committed: it sees nothing and inserts too.
        lookups.append(kw["sha256"])
        return None if len(lookups) == 1 else real_lookup(**kw)

    monkeypatch.setattr(services.photos, "photo_duplicate", racing_lookup)
    result = _upload(alice_session, data, name="again.jpg")
    assert len(lookups) == 2  # checked again after the IntegrityError
    assert result.duplicate is True
    assert result.photo.id == first.id
    assert Photo.objects.filter(session=alice_session).count() == 1
    # The losing request's stored file was removed again.
    _, files = default_storage.listdir(f"photos/{alice_session.uuid}")
    assert files == [first.original.name.rsplit("/", 1)[-1]]


@pytest.mark.parametrize(
    ("data", "name", "code", "reason_part"),
    [
        (b"", "empty.jpg", "empty", "empty file"),
        (pdf_bytes(), "invoice.jpg", "unreadable", "not an image (looks like a PDF"),
        (png_bomb_bytes(20000, 20000), "bomb.png", "unreadable", "image too large (400 megapixels; limit 150)"),
        (GARBAGE_BYTES, "IMG_0002.JPG", "unreadable", "not an image"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "cut.jpg", "unreadable", "truncated"),
    ],
    ids=["zero-bytes", "renamed-pdf", "decompression-bomb", "corrupt", "cut-in-header"],
)
def test_bad_files_are_rejected_with_a_readable_reason(alice_session, enqueued, data, name, code, reason_part):
    with pytest.raises(services.UploadRejected) as exc_info:
        _upload(alice_session, data, name=name)
    assert exc_info.value.code == code
    assert reason_part in exc_info.value.reason
    assert not Photo.objects.exists()
    assert enqueued == []
    assert not default_storage.exists(f"photos/{alice_session.uuid}")


def test_too_large_file_is_rejected_before_sniffing(alice_session, settings):
    settings.EYESPY_MAX_UPLOAD_BYTES = 1024
    with pytest.raises(services.UploadRejected) as exc_info:
        _upload(alice_session, jpeg_bytes(size=(400, 300)))
    assert exc_info.value.code == "too_large"
    assert "file too large" in exc_info.value.reason and "limit" in exc_info.value.reason


def test_body_damage_past_the_header_is_left_to_the_worker(alice_session):
    # Header-only checks in the web process: a truncated body is accepted here and fails in processing.
    photo = _upload(alice_session, truncated_jpeg_bytes(), name="half.jpg").photo
    assert photo.status == Photo.Status.QUEUED


def test_storing_alone_queues_nothing(alice_session, enqueued, django_capture_on_commit_callbacks):
    # sessions_app stores; only the classifier's intake sends work to a worker (import_session --inline).
    with django_capture_on_commit_callbacks(execute=True):
        photo = services.photo_store(session=alice_session, fileobj=ContentFile(jpeg_bytes(), name="a.jpg"),
                                     filename="a.jpg").photo
    assert enqueued == [] and photo.status == Photo.Status.QUEUED


def test_clean_filename_keeps_a_readable_base_name():
    assert services.clean_filename("C:\\Users\\me\\DSC_0001.JPG") == "DSC_0001.JPG"
    assert services.clean_filename("a\x00b\nc.jpg") == "abc.jpg"
    assert services.clean_filename("") == "unnamed"
    long = services.clean_filename("x" * 400 + ".jpeg")
    assert len(long) == 255 and long.endswith(".jpeg")


# --- the endpoint (JSON, one file per request) ------------------------------------------------------


def test_endpoint_accepts_one_file_and_answers_json(web, alice_session, enqueued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        resp = web.post(upload_url(alice_session), {"file": SimpleUploadedFile("IMG_1.JPG", jpeg_bytes())}, **JSON)
    assert resp.status_code == 201
    body = resp.json()
    photo = Photo.objects.get(session=alice_session)
    assert body == {"ok": True, "photo": str(photo.uuid), "duplicate": False, "paired": False}
    assert enqueued == [photo.id]


def test_endpoint_reports_duplicates(web, alice_session):
    data = jpeg_bytes()
    web.post(upload_url(alice_session), {"file": SimpleUploadedFile("a.jpg", data)}, **JSON)
    resp = web.post(upload_url(alice_session), {"file": SimpleUploadedFile("b.jpg", data)}, **JSON)
    assert resp.status_code == 200
    assert resp.json()["duplicate"] is True


def test_mixed_batch_each_bad_file_gets_its_own_error_and_the_rest_succeed(
    web, alice_session, enqueued, django_capture_on_commit_callbacks
):
    files = {
        "good1.jpg": jpeg_bytes(color=(1, 2, 3)),
        "empty.jpg": b"",
        "bomb.png": png_bomb_bytes(30000, 20000),
        "report.jpg": pdf_bytes(),
        "corrupt.jpg": GARBAGE_BYTES,
        "good2.png": png_bytes(),
    }
    answers = {}
    for name, data in files.items():
        with django_capture_on_commit_callbacks(execute=True):
            resp = web.post(upload_url(alice_session), {"file": SimpleUploadedFile(name, data)}, **JSON)
        answers[name] = (resp.status_code, resp.json())
    assert answers["good1.jpg"][0] == 201 and answers["good2.png"][0] == 201
    errors = {name: body["error"] for name, (status, body) in answers.items() if status == 422}
    assert set(errors) == {"empty.jpg", "bomb.png", "report.jpg", "corrupt.jpg"}
    assert "empty file" in errors["empty.jpg"]
    assert "image too large (600 megapixels" in errors["bomb.png"]
    assert "PDF" in errors["report.jpg"]
    assert errors["corrupt.jpg"].startswith("not an image")
    assert len(set(errors.values())) == 4  # four different reasons, not one generic error
    assert all(body["ok"] is False for _, body in answers.values() if "error" in body)
    assert sorted(Photo.objects.values_list("original_filename", flat=True)) == ["good1.jpg", "good2.png"]
    assert len(enqueued) == 2


def test_endpoint_too_large_is_413(web, alice_session, settings):
    settings.EYESPY_MAX_UPLOAD_BYTES = 2000
    resp = web.post(upload_url(alice_session), {"file": SimpleUploadedFile("big.jpg", jpeg_bytes(size=(500, 400)))}, **JSON)
    assert resp.status_code == 413
    assert "too large" in resp.json()["error"]
    assert not Photo.objects.exists()


def test_endpoint_wants_exactly_one_file(web, alice_session):
    resp = web.post(upload_url(alice_session), {}, **JSON)
    assert resp.status_code == 400
    assert resp.json()["ok"] is False
    two = [SimpleUploadedFile("a.jpg", jpeg_bytes()), SimpleUploadedFile("b.jpg", jpeg_bytes(color=(1, 1, 1)))]
    assert web.post(upload_url(alice_session), {"file": two}, **JSON).status_code == 400


def test_endpoint_refuses_get(web, alice_session):
    assert web.get(upload_url(alice_session)).status_code == 405


def test_endpoint_logged_out_json_is_401(client, alice_session):
    resp = client.post(upload_url(alice_session), {"file": SimpleUploadedFile("a.jpg", jpeg_bytes())}, **JSON)
    assert resp.status_code == 401
    assert "log in" in resp.json()["error"].lower()
    assert not Photo.objects.exists()


def test_endpoint_logged_out_form_redirects_to_login(client, alice_session):
    resp = client.post(upload_url(alice_session), {"file": SimpleUploadedFile("a.jpg", jpeg_bytes())})
    assert resp.status_code == 302 and resp["Location"].startswith("/accounts/login/")


def test_other_photographer_gets_404_and_nothing_is_stored(bob_web, alice_session):
    resp = bob_web.post(upload_url(alice_session), {"file": SimpleUploadedFile("a.jpg", jpeg_bytes())}, **JSON)
    assert resp.status_code == 404
    assert resp.json()["ok"] is False
    resp = bob_web.post(upload_url(alice_session), {"file": SimpleUploadedFile("a.jpg", jpeg_bytes())})
    assert resp.status_code == 404
    assert not Photo.objects.exists()


# --- the plain form (no JavaScript) -----------------------------------------------------------------


def test_plain_form_uploads_many_and_redirects_with_a_summary(web, alice_session):
    files = [
        SimpleUploadedFile("one.jpg", jpeg_bytes(color=(5, 5, 5))),
        SimpleUploadedFile("two.jpg", jpeg_bytes(color=(6, 6, 6))),
        SimpleUploadedFile("again.jpg", jpeg_bytes(color=(5, 5, 5))),
        SimpleUploadedFile("notes.jpg", pdf_bytes()),
    ]
    resp = web.post(upload_url(alice_session), {"file": files}, follow=True)
    assert resp.redirect_chain[-1] == (f"/sessions/{alice_session.uuid}/", 302)
    text = [str(m) for m in resp.context["messages"]]
    assert "2 uploaded · 1 duplicate skipped · 1 rejected" in text
    assert any(m.startswith("Rejected 1: notes.jpg: not an image") for m in text)
    assert Photo.objects.filter(session=alice_session).count() == 2


def test_plain_form_without_files_says_so(web, alice_session):
    resp = web.post(upload_url(alice_session), {}, follow=True)
    assert "Choose one or more photos to upload." in [str(m) for m in resp.context["messages"]]


def test_plain_form_with_too_many_files_explains_the_limit(web, alice_session, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    files = [SimpleUploadedFile(f"{i}.jpg", jpeg_bytes(color=(i, i, i))) for i in range(3)]
    resp = web.post(upload_url(alice_session), {"file": files}, follow=True)
    assert any("Too many files" in str(m) for m in resp.context["messages"])
    assert not Photo.objects.exists()
    # Still listed after a reload, like any refused file.
    assert "Too many files for one plain upload" in web.get(f"/sessions/{alice_session.uuid}/").content.decode()


def test_session_page_has_the_upload_widget(web, alice_session):
    html = web.get(f"/sessions/{alice_session.uuid}/").content.decode()
    assert f'data-upload-url="/sessions/{alice_session.uuid}/upload/"' in html
    assert 'type="file"' in html and "multiple" in html and 'accept="image/*,.heic,.heif,' in html
    # The picker offers camera RAWs too (a browser would hide .CR3 or .NEF files under image/* alone).
    accept = html.split('accept="', 1)[1].split('"', 1)[0].split(",")
    assert {".cr3", ".nef", ".nrw", ".arw", ".dng", ".raf"} <= set(accept)
    assert 'enctype="multipart/form-data"' in html  # the no-JS fallback
    assert "js/upload.js" in html


# --- bodies Django refuses to parse (answered before the CSRF check: sessions_app/middleware.py) ------------


@pytest.fixture
def csrf_web(alice):
    """A browser-like client: CSRF enforced, token taken from the session page as a browser would."""
    from django.test import Client as WebClient

    c = WebClient(enforce_csrf_checks=True)
    c.force_login(alice)
    return c


def _raw_upload(client, session, *, filename: str, accept: str, n_files: int = 1):
    """A multipart body written by hand: the test client would cut file names to 255 characters."""
    client.get(f"/sessions/{session.uuid}/")
    token = client.cookies["csrftoken"].value
    parts = [b'--XyZ\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n' + token.encode() + b"\r\n"]
    for i in range(n_files):
        parts.append(b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="' + f"{i}{filename}".encode()
                     + b'"\r\nContent-Type: image/jpeg\r\n\r\n' + jpeg_bytes(color=(i % 250, 9, 9)) + b"\r\n")
    body = b"".join(parts) + b"--XyZ--\r\n"
    resp = client.generic("POST", upload_url(session), body, content_type="multipart/form-data; boundary=XyZ",
                          headers={"accept": accept})
    if resp.status_code == 302:  # the plain form: follow to the page the photographer lands on
        landed = client.get(resp["Location"])
        landed.redirect_chain = [(resp["Location"], 302)]
        return landed
    return resp


def test_a_thousand_character_file_name_gets_a_readable_json_reason(csrf_web, alice_session):
    resp = _raw_upload(csrf_web, alice_session, filename="a" * 1000 + ".jpg", accept="application/json")
    assert resp.status_code == 400 and resp["Content-Type"] == "application/json"
    assert resp.json() == {"ok": False, "error": resp.json()["error"]} and "file name too long" in resp.json()["error"]
    assert not Photo.objects.exists()
    # upload.js shows it now; the session page still lists it after a reload.
    assert "file name too long" in csrf_web.get(f"/sessions/{alice_session.uuid}/").content.decode()


def test_a_thousand_character_file_name_on_the_plain_form_explains_itself(csrf_web, alice_session):
    resp = _raw_upload(csrf_web, alice_session, filename="a" * 1000 + ".jpg", accept="text/html")
    assert resp.redirect_chain[-1] == (f"/sessions/{alice_session.uuid}/", 302)
    assert any("File name too long" in str(m) for m in resp.context["messages"])


def test_a_long_but_parsable_file_name_is_stored_cut_to_255(csrf_web, alice_session):
    resp = _raw_upload(csrf_web, alice_session, filename="b" * 600 + ".jpg", accept="application/json")
    assert resp.status_code == 201, resp.content
    assert len(Photo.objects.get().original_filename) <= 255


def test_more_than_a_hundred_files_on_the_plain_form_with_csrf_on_get_the_page_and_the_limit(csrf_web, alice_session):
    resp = _raw_upload(csrf_web, alice_session, filename=".jpg", accept="text/html", n_files=101)
    assert resp.status_code == 200 and resp.redirect_chain[-1] == (f"/sessions/{alice_session.uuid}/", 302)
    assert any("Too many files for one plain upload (at most 100)" in str(m) for m in resp.context["messages"])
    assert not Photo.objects.exists()

