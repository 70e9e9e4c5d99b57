"""Upload -> Celery task -> prediction through a real worker process on the real Redis (never eager)."""
from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from classifier.models import Prediction, Verdict
from sessions_app.models import Photo
from tests.factories import (
    jpeg_bytes,
    make_session,
    make_user,
    noisy_jpeg_bytes,
    pdf_bytes,
    png_bomb_bytes,
    truncated_jpeg_bytes,
)
from tests.integration.worker import wait_until_settled

pytestmark = pytest.mark.django_db(transaction=True)


def _upload(client, session, name: str, data: bytes):
    return client.post(
        f"/sessions/{session.uuid}/upload/",
        {"file": SimpleUploadedFile(name, data, content_type="image/jpeg")},
        headers={"accept": "application/json"},
    )


def test_uploaded_photo_is_processed_by_the_worker_on_redis(client, redis_worker, shared_media):
    user = make_user()
    session = make_session(user)
    client.force_login(user)

    response = _upload(client, session, "IMG_0001.JPG", jpeg_bytes(size=(800, 600)))
    assert response.status_code == 201, response.content
    photo = Photo.objects.get(session=session)
    wait_until_settled(redis_worker, [photo.id])

    photo.refresh_from_db()
    assert photo.status == Photo.Status.DONE, photo.error
    assert (photo.width, photo.height) == (800, 600)
    assert (shared_media / photo.thumbnail.name).is_file()
    prediction = Prediction.objects.get(photo=photo)
    assert prediction.verdict == Verdict.NO_FACE
    assert prediction.model_version.is_live
    assert "process_photo_task" in redis_worker.log()  # it really went through the worker


def test_bad_files_in_one_batch_each_get_their_own_reason(client, redis_worker, shared_media):
    user = make_user()
    session = make_session(user)
    client.force_login(user)
    good = [noisy_jpeg_bytes((320, 240), seed=i) for i in range(3)]
    batch = {
        "good-1.jpg": good[0],
        "corrupt.jpg": truncated_jpeg_bytes(),
        "bomb.png": png_bomb_bytes(),
        "contract.jpg": pdf_bytes(),
        "empty.jpg": b"",
        "good-2.jpg": good[1],
        "good-3.jpg": good[2],
    }
    answers = {name: _upload(client, session, name, data) for name, data in batch.items()}

    # Refused at upload, by content, each with its reason; nothing stored for them.
    assert answers["bomb.png"].status_code == 422
    assert "too large" in answers["bomb.png"].json()["error"]
    assert answers["contract.jpg"].status_code == 422
    assert "not an image" in answers["contract.jpg"].json()["error"]
    assert answers["empty.jpg"].status_code == 422
    assert "empty" in answers["empty.jpg"].json()["error"]
    # The corrupt JPEG has a valid header: accepted, and it fails in the worker with its reason.
    for name in ("good-1.jpg", "good-2.jpg", "good-3.jpg", "corrupt.jpg"):
        assert answers[name].status_code == 201, answers[name].content

    photos = list(Photo.objects.filter(session=session))
    assert len(photos) == 4
    wait_until_settled(redis_worker, [p.id for p in photos])

    by_name = {p.original_filename: p for p in Photo.objects.filter(session=session)}
    assert by_name["corrupt.jpg"].status == Photo.Status.FAILED
    assert "truncated" in by_name["corrupt.jpg"].error
    for name in ("good-1.jpg", "good-2.jpg", "good-3.jpg"):
        assert by_name[name].status == Photo.Status.DONE, by_name[name].error
        assert Prediction.objects.filter(photo=by_name[name]).exists()
    assert redis_worker.alive()
