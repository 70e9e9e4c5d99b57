"""The task layer: options, retry of transient errors, recording final failures.

These call `Task.apply()` (runs the task body and its retry/failure handling in this process) to
test the policy; the real worker path is tested in tests/integration.
"""
from __future__ import annotations

import pytest
from django.db import OperationalError

from classifier import services
from classifier.tasks import process_photo_task, sweep_stuck_photos_task
from eyespy_site import task_base
from eyespy_site.celery import app
from sessions_app.models import Photo
from tests.factories import make_photo, make_session, make_user, pdf_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def photo():
    return make_photo(make_session(make_user()))


def test_task_options_follow_the_worker_contract():
    assert process_photo_task.acks_late is True
    assert process_photo_task.max_retries == 3
    assert OperationalError in process_photo_task.autoretry_for
    assert process_photo_task.retry_backoff
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1


def test_tasks_are_routed_to_the_photos_queue():
    router = app.amqp.router
    for task in (process_photo_task, sweep_stuck_photos_task):
        assert router.route({}, task.name)["queue"].name == "photos"


def test_a_good_photo_is_processed_by_the_task(photo):
    result = process_photo_task.apply(args=[photo.id])
    assert result.successful()
    photo.refresh_from_db()
    assert photo.status == Photo.Status.DONE
    assert photo.predictions.count() == 1


def test_transient_errors_are_retried_then_succeed(photo, monkeypatch):
    real = services.photo_process
    calls = []

    def flaky(*, photo_id, redelivered=False, task_id=""):
        calls.append(photo_id)
        if len(calls) < 3:
            # What photo_process does on a transient error: release the claim, re-raise.
            services.photo_claim(photo_id=photo_id)
            services.processing.photo_release(photo_id=photo_id)
            raise OperationalError("database is locked")
        real(photo_id=photo_id)

    monkeypatch.setattr(services, "photo_process", flaky)
    result = process_photo_task.apply(args=[photo.id])

    assert result.successful()
    assert calls == [photo.id] * 3
    photo.refresh_from_db()
    assert photo.status == Photo.Status.DONE


def test_transient_errors_give_up_after_max_retries_and_record_it(photo, monkeypatch):
    calls = []

    def always_locked(*, photo_id, redelivered=False, task_id=""):
        calls.append(photo_id)
        raise OperationalError("database is locked")

    monkeypatch.setattr(services, "photo_process", always_locked)
    result = process_photo_task.apply(args=[photo.id])

    assert result.failed()
    assert len(calls) == 1 + task_base.MAX_RETRIES
    photo.refresh_from_db()
    assert photo.status == Photo.Status.FAILED
    assert photo.error.startswith("gave up after 4 tries: OperationalError")


def test_a_bad_photo_fails_once_without_retry(monkeypatch):
    photo = make_photo(make_session(make_user()), data=pdf_bytes())
    real = services.photo_process
    calls = []

    def counting(*, photo_id, redelivered=False, task_id=""):
        calls.append(photo_id)
        real(photo_id=photo_id)

    monkeypatch.setattr(services, "photo_process", counting)
    result = process_photo_task.apply(args=[photo.id])

    assert result.successful()  # a failed photo is a handled outcome
    assert calls == [photo.id]
    photo.refresh_from_db()
    assert photo.status == Photo.Status.FAILED
    assert "not an image" in photo.error


def test_an_unexpected_error_is_recorded_on_the_photo(photo, monkeypatch):
    def bug(*, photo_id, redelivered=False, task_id=""):
        raise KeyError("faces")

    monkeypatch.setattr(services, "photo_process", bug)
    result = process_photo_task.apply(args=[photo.id])

    assert result.failed()
    photo.refresh_from_db()
    assert photo.status == Photo.Status.FAILED
    assert "internal error" in photo.error
    assert "Re-run" in photo.error


def test_a_task_for_a_deleted_photo_is_a_quiet_no_op(photo):
    photo_id = photo.id
    photo.delete()
    assert process_photo_task.apply(args=[photo_id]).successful()


def test_sweep_task_reports_what_it_did():
    result = sweep_stuck_photos_task.apply()
    assert result.get() == "0 re-queued, 0 failed, 0 re-sent"


def test_beat_runs_the_sweeper_periodically(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["sweep-stuck-photos"]
    assert entry["task"] == sweep_stuck_photos_task.name
    assert entry["schedule"] <= settings.EYESPY_STUCK_AFTER_SECONDS
