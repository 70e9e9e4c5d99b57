"""photo_process and friends with the real ml pipeline (no worker here: see tests/integration)."""
from __future__ import annotations

import io
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.core.files.storage import default_storage
from django.db import OperationalError
from django.utils import timezone
from PIL import Image

from classifier import services
from classifier.models import Correction, Prediction, Verdict
from classifier.services import processing
from sessions_app.models import Photo
from tests.factories import (
    jpeg_bytes,
    make_photo,
    pdf_bytes,
    png_bomb_bytes,
    truncated_jpeg_bytes,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    """Task ids 'sent to the broker' (recorded instead of published)."""
    from classifier.tasks import process_photo_task

    calls: list[int] = []
    monkeypatch.setattr(process_photo_task, "delay", lambda photo_id: calls.append(photo_id))
    return calls


def _exif_jpeg(size=(60, 40), orientation=1, taken="2024:06:01 14:30:05") -> bytes:
    image = Image.new("RGB", size, (200, 150, 120))
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif.get_ifd(0x8769)[0x9003] = taken  # DateTimeOriginal
    buf = io.BytesIO()
    image.save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def test_a_photo_without_faces_is_done_with_a_no_face_prediction(session):
    photo = make_photo(session, data=jpeg_bytes(size=(640, 480)))
    services.photo_process(photo_id=photo.id)

    photo.refresh_from_db()
    assert photo.status == Photo.Status.DONE
    assert photo.error == ""
    assert (photo.width, photo.height) == (640, 480)
    assert photo.attempts == 1
    assert photo.started_at <= photo.finished_at
    prediction = Prediction.objects.get(photo=photo)
    assert prediction.verdict == Verdict.NO_FACE
    assert prediction.model_version == services.live_model_version()
    assert "no face" in prediction.reason
    assert prediction.details["faces"] == []
    assert {"decode_ms", "derivatives_ms"} <= set(prediction.details["timings_ms"])  # bench/ reads these


def test_thumbnail_and_preview_are_stored_under_derived_and_oriented(session):
    # Stored landscape 60x40 with EXIF orientation 6: the photographer sees a 40x60 portrait.
    photo = make_photo(session, data=_exif_jpeg(size=(60, 40), orientation=6))
    services.photo_process(photo_id=photo.id)

    photo.refresh_from_db()
    assert (photo.width, photo.height) == (40, 60)
    assert photo.thumbnail.name == f"derived/{photo.uuid.hex}/thumb.jpg"
    assert photo.preview.name == f"derived/{photo.uuid.hex}/preview.jpg"
    for name in (photo.thumbnail.name, photo.preview.name):
        with default_storage.open(name) as fh, Image.open(fh) as im:
            assert im.format == "JPEG"
            assert im.size[0] < im.size[1]  # portrait


def test_capture_time_comes_from_exif_as_an_aware_datetime(session, settings):
    settings.TIME_ZONE = "UTC"
    photo = make_photo(session, data=_exif_jpeg(taken="2024:06:01 14:30:05"))
    services.photo_process(photo_id=photo.id)
    photo.refresh_from_db()
    assert photo.taken_at == datetime(2024, 6, 1, 14, 30, 5, tzinfo=dt_timezone.utc)


def test_an_undated_session_takes_its_date_from_the_first_photo_and_keeps_a_given_one(session, settings):
    settings.TIME_ZONE = "UTC"
    session.shot_on = None
    session.save()
    services.photo_process(photo_id=make_photo(session, data=_exif_jpeg(taken="2024:06:01 14:30:05")).id)
    session.refresh_from_db()
    assert str(session.shot_on) == "2024-06-01"  # the session page no longer says "no date"
    services.photo_process(photo_id=make_photo(session, data=_exif_jpeg(taken="2025:01:02 09:00:00")).id)
    session.refresh_from_db()
    assert str(session.shot_on) == "2024-06-01"  # a date set (by the photographer or the first photo) stays


def test_blinking_photo_gets_a_verdict_reason_and_stored_eye_crops(session, shared_data):
    data = (shared_data / "photos" / "closed" / "yoshidan_closed_man.jpg").read_bytes()
    photo = make_photo(session, data=data)
    services.photo_process(photo_id=photo.id)

    prediction = Prediction.objects.get(photo=photo)
    assert prediction.verdict == Verdict.BLINKING
    assert "closed" in prediction.reason
    eyes = prediction.details["faces"][0]["eyes"]
    assert {eye["side"] for eye in eyes} == {"left", "right"}
    for eye in eyes:
        # Per (photo, model version, face, eye): a later model's run never overwrites these pixels.
        assert eye["crop_path"] == f"derived/{photo.uuid.hex}/m{prediction.model_version_id}/eye-0-{eye['side']}.png"
        with default_storage.open(eye["crop_path"]) as fh, Image.open(fh) as im:
            assert im.format == "PNG"
        assert 0.0 <= eye["p_closed"] <= 1.0


@pytest.mark.parametrize(
    "data, reason_part",
    [
        (truncated_jpeg_bytes(), "truncated"),
        (png_bomb_bytes(), "too large"),
        (pdf_bytes(), "not an image"),
        (b"", "empty file"),
    ],
    ids=["truncated", "bomb", "pdf", "empty"],
)
def test_bad_files_fail_alone_with_a_readable_reason(session, data, reason_part):
    bad = make_photo(session, data=data)
    good = make_photo(session)
    services.photo_process(photo_id=bad.id)  # no exception: a bad photo is an outcome, not a crash
    services.photo_process(photo_id=good.id)

    bad.refresh_from_db()
    assert bad.status == Photo.Status.FAILED
    assert reason_part in bad.error
    assert not Prediction.objects.filter(photo=bad).exists()
    good.refresh_from_db()
    assert good.status == Photo.Status.DONE


def test_missing_original_fails_without_retry(session):
    photo = make_photo(session)
    default_storage.delete(photo.original.name)
    services.photo_process(photo_id=photo.id)
    photo.refresh_from_db()
    assert photo.status == Photo.Status.FAILED
    assert photo.error == "the original file is missing from storage"


def test_transient_error_puts_the_photo_back_to_queued_and_reraises(session, monkeypatch):
    photo = make_photo(session)

    def locked(photo):
        raise OperationalError("database is locked")

    monkeypatch.setattr(processing, "_read_original", locked)
    with pytest.raises(OperationalError):
        services.photo_process(photo_id=photo.id)
    photo.refresh_from_db()
    assert photo.status == Photo.Status.QUEUED
    assert photo.attempts == 1  # the retry's claim counts the next attempt


def test_claim_lets_exactly_one_run_through(session):
    photo = make_photo(session)
    assert services.photo_claim(photo_id=photo.id) is True
    assert services.photo_claim(photo_id=photo.id) is False
    photo.refresh_from_db()
    assert (photo.status, photo.attempts) == (Photo.Status.PROCESSING, 1)


def test_a_redelivered_message_takes_back_a_photo_whose_worker_died(session):
    photo = make_photo(session)
    assert services.photo_claim(photo_id=photo.id) is True  # then the worker is killed mid-photo
    assert services.photo_claim(photo_id=photo.id) is False  # an ordinary duplicate still can't
    assert services.photo_claim(photo_id=photo.id, redelivered=True) is True
    photo.refresh_from_db()
    assert (photo.status, photo.attempts) == (Photo.Status.PROCESSING, 2)


def test_a_photo_that_keeps_killing_workers_fails_for_good(session, settings):
    settings.EYESPY_MAX_ATTEMPTS = 2
    photo = make_photo(session)
    services.photo_claim(photo_id=photo.id)
    services.photo_claim(photo_id=photo.id, redelivered=True)
    assert services.photo_claim(photo_id=photo.id, redelivered=True) is False
    photo.refresh_from_db()
    assert photo.status == Photo.Status.FAILED
    assert "stopped the worker 2 times" in photo.error


def test_a_done_photo_is_not_processed_again_by_a_duplicate_task(session):
    photo = make_photo(session)
    services.photo_process(photo_id=photo.id)
    before = Prediction.objects.get(photo=photo).updated_at

    services.photo_process(photo_id=photo.id)  # e.g. a redelivered message

    photo.refresh_from_db()
    assert photo.attempts == 1
    assert Prediction.objects.get(photo=photo).updated_at == before


def test_requeue_reruns_into_the_same_prediction_and_keeps_corrections(
    session, sent, django_capture_on_commit_callbacks
):
    photo = make_photo(session)
    services.photo_process(photo_id=photo.id)
    first = Prediction.objects.get(photo=photo)
    correction = Correction.objects.create(photo=photo, label=Verdict.BLINKING, previous_label=first.verdict)

    with django_capture_on_commit_callbacks(execute=True):
        assert services.photos_requeue(photos_qs=Photo.objects.filter(pk=photo.pk)) == 1
    assert sent == [photo.id]
    services.photo_process(photo_id=photo.id)

    assert Prediction.objects.filter(photo=photo).count() == 1
    assert Prediction.objects.get(photo=photo).pk == first.pk
    assert list(Correction.objects.filter(photo=photo)) == [correction]
    photo.refresh_from_db()
    assert (photo.status, photo.attempts) == (Photo.Status.DONE, 1)


def test_requeue_takes_failed_and_done_but_not_photos_being_worked_on(
    session, sent, django_capture_on_commit_callbacks
):
    failed = make_photo(session, status=Photo.Status.FAILED, error="file is truncated", attempts=1)
    done = make_photo(session, status=Photo.Status.DONE, attempts=1)
    busy = make_photo(session, status=Photo.Status.PROCESSING, started_at=timezone.now(), attempts=1)
    waiting = make_photo(session)  # queued a moment ago: its message is still in the broker

    with django_capture_on_commit_callbacks(execute=True):
        count = services.photos_requeue(photos_qs=session.photos.all())

    assert count == 2
    assert sorted(sent) == sorted([failed.id, done.id])
    failed.refresh_from_db()
    assert (failed.status, failed.error, failed.attempts) == (Photo.Status.QUEUED, "", 0)
    busy.refresh_from_db()
    assert busy.status == Photo.Status.PROCESSING
    waiting.refresh_from_db()
    assert waiting.status == Photo.Status.QUEUED


def test_requeue_takes_processing_photos_that_look_stuck(session, sent, settings):
    settings.EYESPY_STUCK_AFTER_SECONDS = 60
    stuck = make_photo(
        session, status=Photo.Status.PROCESSING, started_at=timezone.now() - timedelta(minutes=5), attempts=3
    )
    assert services.photos_requeue(photos_qs=session.photos.all()) == 1
    stuck.refresh_from_db()
    assert (stuck.status, stuck.attempts) == (Photo.Status.QUEUED, 0)


def test_enqueue_waits_for_the_commit(session, sent, django_capture_on_commit_callbacks):
    photos = [make_photo(session) for _ in range(3)]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.photos_enqueue(photo_ids=[p.id for p in photos])
        assert sent == []  # nothing leaves before the transaction commits
    assert len(callbacks) == 1
    assert sent == [p.id for p in photos]


def test_enqueue_of_nothing_registers_nothing(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        services.photos_enqueue(photo_ids=[])
    assert callbacks == []


def test_fail_never_overwrites_a_done_photo(session):
    photo = make_photo(session, status=Photo.Status.DONE)
    assert services.photo_fail(photo_id=photo.id, error="late failure") is False
    photo.refresh_from_db()
    assert (photo.status, photo.error) == (Photo.Status.DONE, "")


def test_prediction_record_upserts_on_photo_and_version(session):
    photo = make_photo(session)
    version = services.live_model_version()
    kwargs = dict(photo=photo, model_version=version, confidence=0.9, details={})
    first = services.prediction_record(verdict=Verdict.NOT_BLINKING, reason="2 faces, all eyes open", **kwargs)
    second = services.prediction_record(verdict=Verdict.BLINKING, reason="main face: left eye closed", **kwargs)
    assert first.pk == second.pk
    assert Prediction.objects.get(pk=first.pk).verdict == Verdict.BLINKING


def test_soft_time_limit_is_a_recorded_failure(session, monkeypatch):
    from celery.exceptions import SoftTimeLimitExceeded

    photo = make_photo(session)

    def too_slow(photo):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(processing, "_analyse_and_store", too_slow)
    services.photo_process(photo_id=photo.id)
    photo.refresh_from_db()
    assert photo.status == Photo.Status.FAILED
    assert "took longer than" in photo.error


def test_a_run_on_a_new_model_version_leaves_the_old_versions_crops_alone(session, shared_data):
    """Predictions are kept per (photo, model version): so are the pixels each one was judged on."""
    from classifier.services import model_version_promote
    from tests.factories import make_model_version

    data = (shared_data / "photos" / "closed" / "yoshidan_closed_man.jpg").read_bytes()
    photo = make_photo(session, data=data)
    services.photo_process(photo_id=photo.id)
    first = Prediction.objects.get(photo=photo)
    first_crops = [e["crop_path"] for e in first.details["faces"][0]["eyes"]]

    model_version_promote(version=make_model_version("retrained", is_live=False))
    services.photos_requeue(photos_qs=Photo.objects.filter(pk=photo.pk))
    services.photo_process(photo_id=photo.id)

    second = Prediction.objects.exclude(pk=first.pk).get(photo=photo)
    second_crops = [e["crop_path"] for e in second.details["faces"][0]["eyes"]]
    first.refresh_from_db()
    assert [e["crop_path"] for e in first.details["faces"][0]["eyes"]] == first_crops
    assert set(first_crops).isdisjoint(second_crops)
    assert all(default_storage.exists(n) for n in first_crops + second_crops)


def test_the_same_message_coming_back_takes_its_photo_back_even_without_the_redelivered_flag(session):
    """Some transports redeliver without the flag; the task id that claimed the photo says it's the same message."""
    photo = make_photo(session)
    assert services.photo_claim(photo_id=photo.id, task_id="task-a") is True  # then that worker dies
    assert services.photo_claim(photo_id=photo.id, task_id="task-b") is False  # another message: still refused
    assert services.photo_claim(photo_id=photo.id) is False
    assert services.photo_claim(photo_id=photo.id, task_id="task-a") is True  # the same one, back: takes it
    photo.refresh_from_db()
    assert (photo.status, photo.attempts, photo.claimed_by_task) == (Photo.Status.PROCESSING, 2, "task-a")


def test_the_same_message_killing_workers_again_and_again_fails_the_photo(session, settings):
    settings.EYESPY_MAX_ATTEMPTS = 2
    photo = make_photo(session)
    services.photo_claim(photo_id=photo.id, task_id="t")
    services.photo_claim(photo_id=photo.id, task_id="t")
    assert services.photo_claim(photo_id=photo.id, task_id="t") is False
    photo.refresh_from_db()
    assert photo.status == Photo.Status.FAILED and "stopped the worker 2 times" in photo.error


def test_the_task_passes_its_id_so_a_redelivery_is_recognised(session, monkeypatch):
    from classifier.tasks import process_photo_task

    seen = []
    monkeypatch.setattr(services, "photo_process", lambda **kw: seen.append(kw))
    process_photo_task.apply(args=[7], task_id="abc-123")
    assert seen == [{"photo_id": 7, "redelivered": False, "task_id": "abc-123"}]
