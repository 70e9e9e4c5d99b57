"""Direct-to-S3 uploads against a real S3 API (moto server): the browser's bytes go to the bucket, the app
checks the stored object by content and records it; web views never receive a photo's bytes.

moto does not enforce a POST policy (size range, checksum), so these tests also prove that the app's own
checks after the upload (HEAD size, ranged format read) refuse what S3 itself would have refused.
"""
from __future__ import annotations

import hashlib
import json

import pytest
import requests
from django.core.management import call_command

from sessions_app.models import Photo, RejectedUpload
from sessions_app.services import direct_uploads
from tests.factories import jpeg_bytes, make_session, make_user, noisy_jpeg_bytes, pdf_bytes
from tests.integration.s3 import moto_server, s3_media, s3_storage_config  # noqa: F401 - fixtures
from tests.raw_builders import dng_bytes
from tests.sessions_app.conftest import enqueued  # noqa: F401 - fixture: photo ids sent to the queue

pytestmark = pytest.mark.django_db


def _start(client, session, name: str, data: bytes, *, size: int | None = None):
    body = {"name": name, "size": len(data) if size is None else size, "sha256": hashlib.sha256(data).hexdigest()}
    return client.post(f"/sessions/{session.uuid}/upload/direct/", json.dumps(body),
                       content_type="application/json", headers={"accept": "application/json"})


def _send(answer: dict, data: bytes, name: str) -> requests.Response:
    # What upload.js does: the policy's fields, then the file, straight to the bucket (not through Django).
    response = requests.post(answer["url"], data=answer["fields"], files={"file": (name, data)}, timeout=30)
    assert 200 <= response.status_code < 300, response.text
    return response


def _done(client, session, ticket: str):
    return _capture(client.post)(f"/sessions/{session.uuid}/upload/direct/done/", json.dumps({"ticket": ticket}),
                       content_type="application/json", headers={"accept": "application/json"})


def _direct_upload(client, session, name: str, data: bytes, *, sent: bytes | None = None):
    """The three steps; `sent` replaces the bytes that actually reach the bucket (a lying client)."""
    started = _start(client, session, name, data)
    assert started.status_code == 200, started.content
    answer = started.json()
    _send(answer, data if sent is None else sent, name)
    return answer, _done(client, session, answer["ticket"])


_capture = None  # set by the autouse fixture below: runs a call with on_commit callbacks executed


@pytest.fixture(autouse=True)
def _run_on_commit(django_capture_on_commit_callbacks):
    global _capture

    def capture(fn):
        def call(*args, **kwargs):
            with django_capture_on_commit_callbacks(execute=True):
                return fn(*args, **kwargs)
        return call
    _capture = capture


@pytest.fixture
def photographer(client):
    user = make_user()
    client.force_login(user)
    return user, make_session(user)


def test_a_direct_upload_lands_as_the_original_checked_and_queued(client, s3_media, moto_server, photographer, enqueued):
    _, session = photographer
    data = noisy_jpeg_bytes((320, 240), seed=3)

    answer, done = _direct_upload(client, session, "IMG_0001.JPG", data)

    assert answer["url"].startswith(moto_server.endpoint)
    assert answer["fields"]["key"].startswith(f"incoming/{session.uuid}/")
    assert done.status_code == 201, done.content
    assert done.json() == {"ok": True, "photo": done.json()["photo"], "duplicate": False, "paired": False}
    photo = Photo.objects.get(session=session)
    assert (photo.original_filename, photo.content_type, photo.bytes) == ("IMG_0001.JPG", "image/jpeg", len(data))
    assert photo.sha256 == hashlib.sha256(data).hexdigest()
    assert moto_server.keys(f"photos/{session.uuid}/") == [photo.original.name]
    assert moto_server.read(photo.original.name) == data
    assert moto_server.keys(f"incoming/{session.uuid}/") == []  # the landing object is gone once recorded
    assert enqueued == [photo.id]


def test_the_same_bytes_again_need_no_upload_at_all(client, s3_media, moto_server, photographer, enqueued):
    _, session = photographer
    data = jpeg_bytes(color=(10, 200, 30))
    _direct_upload(client, session, "a.jpg", data)

    again = _start(client, session, "a copy.jpg", data)

    assert again.status_code == 200
    assert again.json()["duplicate"] is True and "url" not in again.json()
    assert Photo.objects.filter(session=session).count() == 1


def test_finishing_twice_records_one_photo(client, s3_media, moto_server, photographer, enqueued):
    _, session = photographer
    data = jpeg_bytes(color=(90, 90, 200))
    answer, first = _direct_upload(client, session, "b.jpg", data)

    second = _done(client, session, answer["ticket"])  # a retry after a lost answer

    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["duplicate"] is True and second.json()["photo"] == first.json()["photo"]
    assert Photo.objects.filter(session=session).count() == 1
    assert len(enqueued) == 1


def test_what_arrives_is_checked_by_content_not_by_what_the_browser_said(client, s3_media, moto_server, photographer):
    _, session = photographer

    _, done = _direct_upload(client, session, "contract.jpg", pdf_bytes())

    assert done.status_code == 422
    assert "not an image (looks like a PDF" in done.json()["error"]
    assert not Photo.objects.filter(session=session).exists()
    assert RejectedUpload.objects.get(session=session).filename == "contract.jpg"
    assert moto_server.keys(f"incoming/{session.uuid}/") == [] and moto_server.keys(f"photos/{session.uuid}/") == []


def test_a_file_other_than_the_announced_one_is_refused(client, s3_media, moto_server, photographer):
    _, session = photographer
    announced = jpeg_bytes(color=(1, 2, 3))

    _, done = _direct_upload(client, session, "swap.jpg", announced, sent=noisy_jpeg_bytes((400, 300), seed=9))

    assert done.status_code == 422
    assert "not the" in done.json()["error"] and "that were sent" in done.json()["error"]
    assert not Photo.objects.filter(session=session).exists()
    assert moto_server.keys(f"incoming/{session.uuid}/") == []


def test_too_large_is_refused_before_anything_is_sent_and_again_after(client, s3_media, moto_server, photographer,
                                                                      settings):
    _, session = photographer
    settings.EYESPY_MAX_UPLOAD_BYTES = 2000
    big = noisy_jpeg_bytes((200, 200), seed=4)
    assert len(big) > 2000

    refused = _start(client, session, "big.jpg", big)
    assert refused.status_code == 413 and "file too large" in refused.json()["error"]

    # A client that announces a small file and sends a big one (S3 enforces the policy's size range; moto
    # doesn't, so the app's own check after the upload is what is tested here).
    small = jpeg_bytes(size=(8, 8))
    answer = _start(client, session, "small.jpg", small).json()
    _send(answer, big, "small.jpg")
    done = _done(client, session, answer["ticket"])
    assert done.status_code == 413 and "file too large" in done.json()["error"]
    assert moto_server.keys(f"incoming/{session.uuid}/") == []


def test_a_ticket_works_only_for_its_own_session_and_cannot_be_forged(client, s3_media, moto_server, photographer):
    user, session = photographer
    other = make_session(user, title="Other shoot")
    data = jpeg_bytes(color=(5, 6, 7))
    answer = _start(client, session, "c.jpg", data).json()
    _send(answer, data, "c.jpg")

    wrong_session = _done(client, other, answer["ticket"])
    forged = _done(client, session, answer["ticket"][:-4] + "AAAA")

    assert wrong_session.status_code == 400 and "another session" in wrong_session.json()["error"]
    assert forged.status_code == 400 and "not valid" in forged.json()["error"]
    assert not Photo.objects.exists()


def test_another_photographers_session_is_not_found(client, s3_media, moto_server, photographer):
    stranger_session = make_session(make_user("stranger@example.com"))
    response = _start(client, stranger_session, "d.jpg", jpeg_bytes())
    assert response.status_code == 404


def test_finishing_an_upload_that_never_reached_the_bucket_says_so(client, s3_media, moto_server, photographer):
    _, session = photographer
    answer = _start(client, session, "lost.jpg", jpeg_bytes(color=(200, 1, 1))).json()

    done = _done(client, session, answer["ticket"])

    assert done.status_code == 422 and "did not reach the storage" in done.json()["error"]


def test_a_raw_and_its_jpeg_sent_directly_become_one_photo(client, s3_media, moto_server, photographer, enqueued):
    _, session = photographer
    raw, jpeg = dng_bytes(), noisy_jpeg_bytes((300, 200), seed=5)

    _, first = _direct_upload(client, session, "IMG_0042.DNG", raw)
    _, second = _direct_upload(client, session, "IMG_0042.JPG", jpeg)

    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json()["paired"] is True
    photo = Photo.objects.get(session=session)
    assert photo.is_raw and photo.original_filename == "IMG_0042.DNG" and photo.companion_filename == "IMG_0042.JPG"
    assert moto_server.read(photo.original.name) == raw
    assert moto_server.read(photo.companion.name) == jpeg


def test_direct_uploads_are_throttled_per_photographer(client, s3_media, moto_server, photographer, monkeypatch):
    _, session = photographer
    monkeypatch.setattr(direct_uploads, "DIRECT_UPLOADS_PER_USER",
                        direct_uploads.Limit("direct-upload-test", 2, 3600))
    answers = [_start(client, session, f"t{i}.jpg", jpeg_bytes(color=(i, 40, 40))) for i in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert "too many uploads" in answers[2].json()["error"]


def test_the_session_page_offers_direct_uploads_only_with_s3(client, photographer, settings, s3_storage_config):
    _, session = photographer
    page = client.get(f"/sessions/{session.uuid}/").content.decode()
    assert "data-direct-url" not in page
    assert _start(client, session, "e.jpg", jpeg_bytes()).status_code == 404

    settings.STORAGES = {**settings.STORAGES, "default": s3_storage_config}
    page = client.get(f"/sessions/{session.uuid}/")
    assert f'data-direct-url="/sessions/{session.uuid}/upload/direct/"' in page.content.decode()
    endpoint = s3_storage_config["OPTIONS"]["endpoint_url"]
    connect = next(p for p in page["Content-Security-Policy"].split("; ") if p.startswith("connect-src"))
    assert endpoint in connect  # the browser may POST to the bucket, and nowhere else new

    settings.EYESPY_DIRECT_UPLOADS = False
    assert "data-direct-url" not in client.get(f"/sessions/{session.uuid}/").content.decode()


def test_configure_bucket_sets_cors_for_the_site_and_expires_unfinished_uploads(s3_media, moto_server, settings):
    settings.SITE_URL = "https://cull.example.com"
    call_command("configure_bucket")

    s3 = moto_server.client()
    cors = s3.get_bucket_cors(Bucket=moto_server.bucket)["CORSRules"]
    assert cors[0]["AllowedOrigins"] == ["https://cull.example.com"] and cors[0]["AllowedMethods"] == ["POST"]
    rules = s3.get_bucket_lifecycle_configuration(Bucket=moto_server.bucket)["Rules"]
    incoming = next(r for r in rules if r["ID"] == "eyespy-unfinished-uploads")
    assert incoming["Filter"]["Prefix"] == "incoming/" and incoming["Expiration"]["Days"] == 1
