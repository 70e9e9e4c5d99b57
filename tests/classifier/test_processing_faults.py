"""Database and storage errors inside the photo task: retried or recorded, never half-written.

The task runs in this process (`Task.apply()`: its retries run at once, one after another) on the real
ml pipeline, with storage or the database made to fail at one point. Invariants checked after every run:

* a Prediction exists only for a photo that is done (they commit in one transaction, and only while the
  run still holds the photo);
* a photo never stays `processing`: it ends done, or queued for a retry, or failed with a readable reason;
* every stored file besides the original (and the live model's weights) is under the photo's own derived
  folder (the next run replaces it, deleting the photo removes it), never a file no row leads to.
"""
from __future__ import annotations

import errno
from pathlib import Path

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import DataError, OperationalError

from classifier import services
from classifier.models import Prediction
from classifier.services import processing
from classifier.tasks import process_photo_task
from eyespy_site import task_base
from sessions_app import media_names
from sessions_app import services as sessions_services
from sessions_app.models import Photo
from tests.factories import make_photo

pytestmark = pytest.mark.django_db

TRIES = 1 + task_base.MAX_RETRIES


@pytest.fixture
def photo(session):
    return make_photo(session)


def _fail_first(n: int, exc: BaseException, real):
    """A stand-in for `real` that raises `exc` on its first `n` calls; returns it and its call list."""
    calls: list[int] = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) <= n:
            raise exc
        return real(*args, **kwargs)

    return flaky, calls


def _stored_files(settings) -> set[str]:
    """Every file in this test's storage but the model weights (copied there when the model registers)."""
    root = Path(settings.MEDIA_ROOT)
    names = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    return {n for n in names if not n.startswith("models/")}


def _assert_whole(photo: Photo, settings) -> None:
    photo.refresh_from_db()
    assert photo.status != Photo.Status.PROCESSING
    predictions = Prediction.objects.filter(photo=photo).count()
    assert predictions == (1 if photo.status == Photo.Status.DONE else 0), (photo.status, predictions)
    folder = media_names.derived_folder(photo.uuid) + "/"
    strays = {n for n in _stored_files(settings) if n != photo.original.name and not n.startswith(folder)}
    assert not strays


# --- storage -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("exc", [
    OSError(errno.EIO, "Input/output error"),
    EndpointConnectionError(endpoint_url="https://s3.example.com/bucket"),
], ids=["disk", "s3"])
def test_storage_failing_to_open_the_original_is_retried_then_succeeds(photo, monkeypatch, settings, exc):
    flaky, calls = _fail_first(2, exc, FileSystemStorage.open)
    monkeypatch.setattr(FileSystemStorage, "open", flaky)

    assert process_photo_task.apply(args=[photo.id]).successful()

    assert len(calls) == 3
    _assert_whole(photo, settings)
    assert (photo.status, photo.attempts) == (Photo.Status.DONE, 3)


def _s3_error(status: int, code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}},
                       "GetObject")


@pytest.mark.parametrize("status, code", [(503, "SlowDown"), (500, "InternalError")])
def test_s3_asking_to_slow_down_is_retried_for_reads_and_writes(photo, monkeypatch, settings, status, code):
    flaky_open, opens = _fail_first(1, _s3_error(status, code), FileSystemStorage.open)
    flaky_save, saves = _fail_first(1, _s3_error(status, code), FileSystemStorage.save)
    monkeypatch.setattr(FileSystemStorage, "open", flaky_open)
    monkeypatch.setattr(FileSystemStorage, "save", flaky_save)

    assert process_photo_task.apply(args=[photo.id]).successful()

    _assert_whole(photo, settings)
    assert (photo.status, photo.attempts) == (Photo.Status.DONE, 3)  # a read retry, then a write retry
    assert len(opens) >= 2 and len(saves) >= 2  # each failed once, then went through


def test_s3_refusing_access_is_not_retried(photo, monkeypatch, settings):
    def denied(storage, name, mode="rb"):
        raise _s3_error(403, "AccessDenied")

    monkeypatch.setattr(FileSystemStorage, "open", denied)

    assert process_photo_task.apply(args=[photo.id]).failed()

    _assert_whole(photo, settings)
    assert (photo.status, photo.attempts) == (Photo.Status.FAILED, 1)
    assert photo.error == "internal error while processing (ClientError); use Re-run to try again"


def test_storage_that_stays_down_is_recorded_after_the_last_retry(photo, monkeypatch, settings):
    def broken(storage, name, mode="rb"):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(FileSystemStorage, "open", broken)

    assert process_photo_task.apply(args=[photo.id]).failed()

    _assert_whole(photo, settings)
    assert photo.status == Photo.Status.FAILED
    assert photo.attempts == TRIES
    assert photo.error.startswith(f"gave up after {TRIES} tries: TransientProcessingError: can't read ")
    assert "Input/output error" in photo.error


def test_a_full_disk_while_writing_derivatives_is_retried_and_leaves_no_stray_files(photo, monkeypatch, settings):
    """The thumbnail is written, then the preview's write fails: the retry replaces both."""
    real_save = FileSystemStorage.save
    calls: list[str] = []

    def save(storage, name, content, *args, **kwargs):
        calls.append(name)
        if name == media_names.preview_name(photo.uuid) and calls.count(name) == 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(storage, name, content, *args, **kwargs)

    monkeypatch.setattr(FileSystemStorage, "save", save)

    assert process_photo_task.apply(args=[photo.id]).successful()

    _assert_whole(photo, settings)
    assert (photo.status, photo.attempts) == (Photo.Status.DONE, 2)
    assert photo.thumbnail.name == media_names.thumbnail_name(photo.uuid)
    assert photo.preview.name == media_names.preview_name(photo.uuid)
    assert default_storage.exists(photo.preview.name)


def test_a_write_that_keeps_failing_is_recorded_not_mistaken_for_a_missing_original(photo, monkeypatch, settings):
    def save(storage, name, content, *args, **kwargs):
        if name.startswith("derived/"):
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", name)
        return real_save(storage, name, content, *args, **kwargs)

    real_save = FileSystemStorage.save
    monkeypatch.setattr(FileSystemStorage, "save", save)

    assert process_photo_task.apply(args=[photo.id]).failed()

    _assert_whole(photo, settings)
    assert photo.status == Photo.Status.FAILED
    assert "can't write derived/" in photo.error
    assert "missing from storage" not in photo.error
    # Whatever a failed run left is the photo's own: deleting the photo's files leaves nothing behind.
    names = media_names.photo_file_names(photo_uuid=photo.uuid, stored_names=[photo.original.name])
    assert _stored_files(settings) <= names


# --- database ----------------------------------------------------------------------------------------------


def test_a_database_error_saving_the_prediction_is_retried_then_written_once(photo, monkeypatch, settings):
    flaky, calls = _fail_first(1, OperationalError("database is locked"), processing.prediction_record)
    monkeypatch.setattr(processing, "prediction_record", flaky)

    assert process_photo_task.apply(args=[photo.id]).successful()

    assert len(calls) == 2
    _assert_whole(photo, settings)
    assert (photo.status, photo.attempts) == (Photo.Status.DONE, 2)


def test_a_database_error_marking_done_rolls_the_prediction_back(photo, monkeypatch, settings):
    """The prediction is written, then the photo's `done` fails: the prediction must not stay alone."""
    seen: list[int] = []

    def done_fails(**kwargs):
        seen.append(Prediction.objects.filter(photo_id=kwargs["photo_id"]).count())
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(sessions_services, "photo_state_done", done_fails)

    assert process_photo_task.apply(args=[photo.id]).failed()

    assert seen == [1] * TRIES  # each try had written its prediction inside the transaction...
    _assert_whole(photo, settings)  # ...and none survived
    assert photo.status == Photo.Status.FAILED
    assert photo.error.startswith(f"gave up after {TRIES} tries: OperationalError: server closed")


def test_database_down_for_the_release_too_the_retry_still_takes_the_photo_back(photo, monkeypatch, settings):
    """The release after the error fails as well, so the photo is left `processing`; the retry (same
    task id) takes it back at once instead of waiting for the sweeper."""
    flaky_record, _ = _fail_first(1, OperationalError("database is locked"), processing.prediction_record)
    flaky_release, release_calls = _fail_first(
        1, OperationalError("database is locked"), sessions_services.photo_state_release)
    monkeypatch.setattr(processing, "prediction_record", flaky_record)
    monkeypatch.setattr(sessions_services, "photo_state_release", flaky_release)

    assert process_photo_task.apply(args=[photo.id]).successful()

    assert len(release_calls) == 1
    _assert_whole(photo, settings)
    assert (photo.status, photo.attempts) == (Photo.Status.DONE, 2)


def test_a_permanent_database_error_is_recorded_once_without_retry(photo, monkeypatch, settings):
    flaky, calls = _fail_first(99, DataError("value too long for type character varying(500)"),
                               processing.prediction_record)
    monkeypatch.setattr(processing, "prediction_record", flaky)

    assert process_photo_task.apply(args=[photo.id]).failed()

    assert len(calls) == 1
    _assert_whole(photo, settings)
    assert photo.status == Photo.Status.FAILED
    assert photo.error == "internal error while processing (DataError); use Re-run to try again"


def test_a_photo_taken_away_mid_run_keeps_no_prediction_from_that_run(photo, monkeypatch, settings):
    """While the run analyses, the sweeper fails the photo (it looked stuck): the run must not then write
    a prediction for a photo it no longer holds, nor move the photo."""
    real_store = processing._store

    def store_then_swept(name, data):
        sessions_services.photo_state_fail(photo_id=photo.id, error="gave up after 3 attempts")
        return real_store(name, data)

    monkeypatch.setattr(processing, "_store", store_then_swept)

    services.photo_process(photo_id=photo.id, task_id="task-1")

    _assert_whole(photo, settings)
    assert (photo.status, photo.error) == (Photo.Status.FAILED, "gave up after 3 attempts")


def test_a_release_never_takes_a_photo_from_the_run_that_holds_it_now(photo):
    assert services.photo_claim(photo_id=photo.id, task_id="second-run")
    processing.photo_release(photo_id=photo.id, task_id="first-run")
    photo.refresh_from_db()
    assert (photo.status, photo.claimed_by_task) == (Photo.Status.PROCESSING, "second-run")
    processing.photo_release(photo_id=photo.id, task_id="second-run")
    photo.refresh_from_db()
    assert photo.status == Photo.Status.QUEUED
