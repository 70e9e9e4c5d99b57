"""The zero-service default: the embedded Redis on a unix socket and a real prefork worker process."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from classifier import services
from classifier.models import Prediction
from classifier.tasks import sweep_stuck_photos_task
from sessions_app.models import Photo
from tests.factories import (
    make_photo,
    make_session,
    make_user,
    noisy_jpeg_bytes,
    pdf_bytes,
    png_bomb_bytes,
    truncated_jpeg_bytes,
)
from tests.integration.brokers import queue_depth
from tests.integration.worker import wait_until_settled

pytestmark = pytest.mark.django_db(transaction=True)


def test_uploads_are_processed_through_the_embedded_broker(embedded_worker, shared_media):
    from django.core.files.base import ContentFile

    session = make_session(make_user())
    results = [
        services.photo_upload(session=session, fileobj=ContentFile(noisy_jpeg_bytes((320, 240), seed=i)), filename=f"IMG_{i}.JPG")
        for i in range(4)
    ]
    ids = [r.photo.id for r in results]
    wait_until_settled(embedded_worker, ids)

    assert set(Photo.objects.filter(pk__in=ids).values_list("status", flat=True)) == {Photo.Status.DONE}
    assert Prediction.objects.filter(photo_id__in=ids).count() == 4
    assert queue_depth() == 0  # every message consumed


def test_each_bad_file_fails_alone_in_the_worker(embedded_worker, shared_media):
    # Rows created directly (as an older import could have left them), so the worker meets the bad bytes.
    session = make_session(make_user())
    bad = {
        "corrupt.jpg": (truncated_jpeg_bytes(), "truncated"),
        "bomb.png": (png_bomb_bytes(), "too large"),
        "contract.jpg": (pdf_bytes(), "not an image"),
        "empty.jpg": (b"", "empty file"),
    }
    photos = {name: make_photo(session, name=name, data=data) for name, (data, _) in bad.items()}
    good = [make_photo(session, name=f"good-{i}.jpg", data=noisy_jpeg_bytes((320, 240), seed=10 + i)) for i in range(3)]
    ids = [p.id for p in [*photos.values(), *good]]
    services.photos_enqueue(photo_ids=ids)
    wait_until_settled(embedded_worker, ids)

    for name, (_, reason) in bad.items():
        photo = Photo.objects.get(pk=photos[name].pk)
        assert photo.status == Photo.Status.FAILED, name
        assert reason in photo.error, (name, photo.error)
    for photo in good:
        photo.refresh_from_db()
        assert photo.status == Photo.Status.DONE, photo.error
    assert embedded_worker.alive()


def test_a_photo_whose_message_was_lost_is_recovered_by_the_sweeper(embedded_worker, shared_media, settings):
    # A message lost before it reached the broker (it was down at upload time): the photo sits in queued.
    session = make_session(make_user())
    lost = make_photo(session, data=noisy_jpeg_bytes((320, 240), seed=99))  # no task was ever sent
    Photo.objects.filter(pk=lost.pk).update(updated_at=timezone.now() - timedelta(hours=1))

    sweep_stuck_photos_task.delay()  # what beat does every 2 minutes, run by the worker itself
    wait_until_settled(embedded_worker, [lost.id])

    lost.refresh_from_db()
    assert lost.status == Photo.Status.DONE
    assert "0 re-queued, 0 failed, 1 re-sent" in embedded_worker.log()


def test_pool_children_yield_the_cpu_to_the_dispatcher_and_the_web(embedded_worker, settings):
    import psutil

    main = psutil.Process(embedded_worker.proc.pid)
    children = main.children()
    assert children, "the prefork pool has no children"
    assert {child.nice() for child in children} == {main.nice() + settings.EYESPY_WORKER_CHILD_NICE}
    assert settings.EYESPY_WORKER_CHILD_NICE > 0
