"""Production storage on a real S3 API (moto server): nothing assumes that web and workers share a disk.

Every file goes to the bucket, never to MEDIA_ROOT; the worker subprocess reads and writes only the
bucket; photographers get short-lived signed URLs while the objects themselves stay private.
"""
from __future__ import annotations

import hashlib
import io
import zipfile
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from classifier import services, worker_model
from classifier.models import ModelVersion, Prediction, Verdict
from review.exports import export_create
from sessions_app.models import Export, Photo
from sessions_app.services import session_delete
from tests.factories import make_session, make_user, noisy_jpeg_bytes
from tests.integration.s3 import moto_server, s3_media, s3_storage_config  # noqa: F401 - fixtures
from tests.integration.worker import embedded_redis_worker, test_database_url, wait_until_settled
from tests.review_builders import BLINK, OPEN, make_judged_photo

pytestmark = pytest.mark.django_db

FACE_PHOTO = ("photos", "closed", "yoshidan_closed_man.jpg")  # a blinking portrait: one face, two eye crops


def _local_files(folder) -> list[str]:
    return sorted(str(p) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def _upload(client, session, name: str, data: bytes):
    return client.post(
        f"/sessions/{session.uuid}/upload/",
        {"file": SimpleUploadedFile(name, data, content_type="image/jpeg")},
        headers={"accept": "application/json"},
    )


def _signed(response) -> str:
    """The signed S3 URL a media view redirected to (checked to be signed and short-lived)."""
    assert response.status_code == 302, response.content
    url = response["Location"]
    query = parse_qs(urlsplit(url).query)
    assert "X-Amz-Signature" in query and "X-Amz-Expires" in query, url
    assert int(query["X-Amz-Expires"][0]) <= 300
    assert "private" in response["Cache-Control"]
    return url


def _processed_face_photo(client, shared_data) -> tuple[Photo, object]:
    """A face photo uploaded through the view and processed in-process (both on S3)."""
    user = make_user()
    session = make_session(user)
    client.force_login(user)
    assert _upload(client, session, "IMG_0001.JPG", shared_data.joinpath(*FACE_PHOTO).read_bytes()).status_code == 201
    photo = Photo.objects.get(session=session)
    services.photo_process(photo_id=photo.id)
    photo.refresh_from_db()
    assert photo.status == Photo.Status.DONE, photo.error
    return photo, user


def _assert_derived_in_bucket(moto_server, photo: Photo) -> None:
    prefix = f"derived/{photo.uuid.hex}/"
    keys = moto_server.keys(prefix)
    assert {prefix + "thumb.jpg", prefix + "preview.jpg"} <= set(keys)
    assert (photo.thumbnail.name, photo.preview.name) == (prefix + "thumb.jpg", prefix + "preview.jpg")
    prediction = Prediction.objects.get(photo=photo)
    crops = [eye["crop_path"] for face in prediction.details["faces"] for eye in face["eyes"]]
    assert crops and set(crops) <= set(keys), (crops, keys)
    assert moto_server.read(crops[0]).startswith(b"\x89PNG")
    assert prediction.verdict == Verdict.BLINKING


def test_uploaded_original_goes_to_the_bucket_and_not_to_local_disk(client, s3_media, moto_server):
    user = make_user()
    session = make_session(user)
    client.force_login(user)
    data = noisy_jpeg_bytes((320, 240), seed=1)

    response = _upload(client, session, "IMG_0001.JPG", data)

    assert response.status_code == 201, response.content
    photo = Photo.objects.get(session=session)
    assert photo.original.name == f"photos/{session.uuid}/{photo.uuid.hex}.jpg"
    assert moto_server.keys(f"photos/{session.uuid}/") == [photo.original.name]
    assert moto_server.read(photo.original.name) == data
    with pytest.raises(NotImplementedError):
        default_storage.path(photo.original.name)  # no local path at all
    assert _local_files(s3_media) == []


def test_processing_writes_derivatives_and_eye_crops_to_the_bucket(client, s3_media, moto_server, shared_data):
    photo, _ = _processed_face_photo(client, shared_data)

    _assert_derived_in_bucket(moto_server, photo)
    assert (photo.width, photo.height) != (None, None)
    assert _local_files(s3_media) == []


def test_media_views_redirect_the_owner_to_signed_urls_of_private_objects(client, s3_media, moto_server, shared_data):
    photo, _ = _processed_face_photo(client, shared_data)
    prediction = Prediction.objects.get(photo=photo)
    crop = prediction.details["faces"][0]["eyes"][0]
    routes = {
        f"/photos/{photo.uuid}/thumb/": photo.thumbnail.name,
        f"/photos/{photo.uuid}/preview/": photo.preview.name,
        f"/photos/{photo.uuid}/original/": photo.original.name,
        f"/photos/{photo.uuid}/eye/0/{crop['side']}/": crop["crop_path"],
    }
    for route, key in routes.items():
        url = _signed(client.get(route))
        fetched = requests.get(url, timeout=10)  # what the browser does with the redirect
        assert fetched.status_code == 200, (route, fetched.text[:300])
        assert fetched.content == moto_server.read(key), route
        # The object itself is private: without the signature S3 refuses it.
        assert requests.get(moto_server.object_url(key), timeout=10).status_code == 403, route
        grants = moto_server.client().get_object_acl(Bucket=moto_server.bucket, Key=key)["Grants"]
        assert not [g for g in grants if "AllUsers" in g["Grantee"].get("URI", "")], (key, grants)

    # A download names the photographer's file, via the signed URL's response-content-disposition.
    download = requests.get(_signed(client.get(f"/photos/{photo.uuid}/original/?download=1")), timeout=10)
    assert download.status_code == 200
    assert 'attachment; filename="IMG_0001.JPG"' in download.headers["Content-Disposition"]

    # (moto, without its IAM mode, accepts any X-Amz-Signature, so a tampered signature isn't tested here;
    # the 403 above shows the object isn't public, which is what S3's own signature check builds on.)

    client.force_login(make_user())  # another photographer
    for route in routes:
        assert client.get(route).status_code == 404, route


def test_keepers_export_is_stored_in_the_bucket_and_downloads_by_signed_redirect(client, s3_media, moto_server):
    alice = make_user()
    session = make_session(alice, title="Smith wedding")
    for i in range(4):
        make_judged_photo(session, faces=BLINK if i == 0 else OPEN, name=f"IMG_{i:04d}.JPG")

    export = export_create(session=session, fmt=Export.Format.KEEPERS_ZIP, by=alice, inline=True)

    assert export.status == Export.Status.DONE, export.error
    assert export.file.name.startswith(f"exports/{session.uuid}/{export.uuid.hex}/")
    assert export.file.name in moto_server.keys("exports/")
    client.force_login(alice)
    route = f"/sessions/{session.uuid}/exports/{export.uuid}/download/"
    fetched = requests.get(_signed(client.get(route)), timeout=10)
    assert fetched.status_code == 200
    assert 'filename="smith-wedding-keepers.zip"' in fetched.headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(fetched.content)) as zf:
        assert sorted(zf.namelist()) == ["IMG_0001.JPG", "IMG_0002.JPG", "IMG_0003.JPG"]
    assert requests.get(moto_server.object_url(export.file.name), timeout=10).status_code == 403
    assert _local_files(s3_media) == []  # the temp ZIP never lands in MEDIA_ROOT

    client.force_login(make_user())
    assert client.get(route).status_code == 404


def test_worker_fetches_weights_that_live_only_in_the_bucket(s3_media, moto_server, settings, tmp_path):
    settings.VAR_DIR = tmp_path / "worker-var"  # the worker machine's own disk
    weights = b"weights that exist only in the bucket " * 100
    good = ModelVersion(name="bucket-only", checksum=hashlib.sha256(weights).hexdigest())
    good.weights.save("eye.tflite", ContentFile(weights))
    assert moto_server.keys("models/bucket-only/") == [good.weights.name]

    path = worker_model.weights_path(good)

    assert path.parent == settings.VAR_DIR / "model-cache"
    assert path.read_bytes() == weights
    assert worker_model.weights_path(good) == path  # cached: fetched once

    bad = ModelVersion(name="tampered", checksum="0" * 64)
    bad.weights.save("eye.tflite", ContentFile(weights))
    with pytest.raises(ValueError, match="checksum"):
        worker_model.weights_path(bad)
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # nothing half-fetched left behind
    assert _local_files(s3_media) == []


def test_session_delete_removes_every_object_including_zoom_crops(
    client, s3_media, moto_server, shared_data, django_capture_on_commit_callbacks
):
    photo, user = _processed_face_photo(client, shared_data)
    # The lightbox zoom is cut by a worker on first view and kept in the bucket beside the other derived files.
    from classifier.services import eye_zoom_make

    assert client.get(f"/photos/{photo.uuid}/zoom/0/").status_code == 202
    eye_zoom_make(photo_id=photo.id, model_version_id=photo.predictions.get().model_version_id, face_index=0)
    zoom = requests.get(_signed(client.get(f"/photos/{photo.uuid}/zoom/0/")), timeout=10)
    assert zoom.status_code == 200 and zoom.content.startswith(b"\xff\xd8")
    derived = f"derived/{photo.uuid.hex}/"
    assert any("zoom" in key for key in moto_server.keys(derived))

    with django_capture_on_commit_callbacks(execute=True):  # files go once the rows are gone
        session_delete(session=photo.session)

    assert moto_server.keys(derived) == []
    assert moto_server.keys(f"derived/{photo.uuid}/") == []
    assert moto_server.keys(f"photos/{photo.session.uuid}/") == []


@pytest.mark.django_db(transaction=True)
def test_worker_subprocess_uses_only_the_bucket(client, s3_media, moto_server, shared_data, tmp_path_factory):
    """Web (this process) and a real Celery worker share the database and the bucket, and no folder."""
    worker_var = tmp_path_factory.mktemp("s3-worker-var")
    worker_media = tmp_path_factory.mktemp("s3-worker-media")  # the worker's MEDIA_ROOT: must stay empty
    with embedded_redis_worker(
        db_url=test_database_url(), var_dir=worker_var, media_dir=worker_media, extra_env=moto_server.env()
    ) as worker:
        user = make_user()
        session = make_session(user)
        client.force_login(user)
        response = _upload(client, session, "IMG_0001.JPG", shared_data.joinpath(*FACE_PHOTO).read_bytes())
        assert response.status_code == 201, response.content
        photo = Photo.objects.get(session=session)
        wait_until_settled(worker, [photo.id])

    photo.refresh_from_db()
    assert photo.status == Photo.Status.DONE, f"{photo.error}\n{worker.log()[-3000:]}"
    assert "process_photo_task" in worker.log()
    _assert_derived_in_bucket(moto_server, photo)
    assert _local_files(worker_media) == [] and _local_files(s3_media) == []
