"""The stuck-work sweeper (periodic task + `manage.py requeue_stuck`)."""
from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from classifier import services
from classifier.services import processing
from sessions_app.models import Photo
from tests.factories import make_photo
from tests.integration.brokers import queue_depth, use_broker

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    """Photo ids the sweeper enqueues (photos_enqueue itself is tested in test_processing)."""
    calls: list[int] = []
    monkeypatch.setattr(processing, "photos_enqueue", lambda *, photo_ids: calls.extend(photo_ids))
    return calls


@pytest.fixture
def empty_broker(monkeypatch):
    monkeypatch.setattr(processing, "broker_queue_depth", lambda queue="photos": 0)


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.EYESPY_STUCK_AFTER_SECONDS = 300
    settings.EYESPY_MAX_ATTEMPTS = 3


def _ago(**kwargs):
    return timezone.now() - timedelta(**kwargs)


def _processing(session, *, started, attempts):
    return make_photo(session, status=Photo.Status.PROCESSING, started_at=started, attempts=attempts)


def _queued_since(session, when):
    photo = make_photo(session)
    Photo.objects.filter(pk=photo.pk).update(updated_at=when)  # update() skips auto_now
    return photo


def test_processing_too_long_is_requeued_while_attempts_remain(session, sent, empty_broker):
    stuck = _processing(session, started=_ago(minutes=10), attempts=1)
    report = services.photos_sweep_stuck()
    assert (report.requeued, report.failed) == (1, 0)
    assert sent == [stuck.id]
    stuck.refresh_from_db()
    assert stuck.status == Photo.Status.QUEUED
    assert stuck.attempts == 1  # the next claim counts the next attempt


def test_processing_too_long_out_of_attempts_fails_with_the_count(session, sent, empty_broker):
    stuck = _processing(session, started=_ago(minutes=10), attempts=3)
    report = services.photos_sweep_stuck()
    assert (report.requeued, report.failed) == (0, 1)
    assert sent == []
    stuck.refresh_from_db()
    assert stuck.status == Photo.Status.FAILED
    assert stuck.error.startswith("gave up after 3 attempts")


def test_recent_work_is_left_alone(session, sent, empty_broker):
    busy = _processing(session, started=_ago(seconds=30), attempts=1)
    waiting = _queued_since(session, _ago(seconds=30))
    done = make_photo(session, status=Photo.Status.DONE, started_at=_ago(hours=1))
    assert str(services.photos_sweep_stuck()) == "0 re-queued, 0 failed, 0 re-sent"
    assert sent == []
    for photo, status in ((busy, "processing"), (waiting, "queued"), (done, "done")):
        photo.refresh_from_db()
        assert photo.status == status


def test_queued_photos_lost_by_the_broker_are_sent_again_once(session, sent, empty_broker):
    lost = _queued_since(session, _ago(minutes=10))
    assert services.photos_sweep_stuck().resent == 1
    assert sent == [lost.id]
    # Touched: the very next sweep does not send it again.
    assert services.photos_sweep_stuck().resent == 0
    assert sent == [lost.id]


def test_a_busy_broker_queue_means_queued_photos_are_just_waiting(session, sent, monkeypatch):
    monkeypatch.setattr(processing, "broker_queue_depth", lambda queue="photos": 250)
    _queued_since(session, _ago(minutes=10))
    assert services.photos_sweep_stuck().resent == 0
    assert sent == []


def test_sweep_does_not_undo_a_photo_that_finished_meanwhile(session, sent, empty_broker, monkeypatch):
    stuck = _processing(session, started=_ago(minutes=10), attempts=1)
    real_filter = Photo.objects.filter

    def finishing_filter(*args, **kwargs):
        # The worker finishes the photo between the sweeper's read and its update.
        if kwargs.get("started_at") is not None:
            real_filter(pk=stuck.pk).update(status=Photo.Status.DONE)
        return real_filter(*args, **kwargs)

    monkeypatch.setattr(Photo.objects, "filter", finishing_filter)
    assert services.photos_sweep_stuck().requeued == 0
    stuck.refresh_from_db()
    assert stuck.status == Photo.Status.DONE


def test_broker_queue_depth_counts_waiting_messages():
    with use_broker("memory://"):
        from eyespy_site.celery import app

        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge("photos")
        assert processing.broker_queue_depth() == 0
        from classifier.tasks import process_photo_task

        process_photo_task.delay(101)
        process_photo_task.delay(102)
        assert processing.broker_queue_depth() == 2 == queue_depth()
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge("photos")


def test_requeue_stuck_command_prints_the_report(session, sent, empty_broker):
    _processing(session, started=_ago(minutes=10), attempts=1)
    _processing(session, started=_ago(minutes=10), attempts=5)
    out = StringIO()
    call_command("requeue_stuck", stdout=out)
    assert out.getvalue().strip() == "Stuck photos: 1 re-queued, 1 failed, 0 re-sent"


def test_requeue_stuck_older_than_zero_takes_everything_in_flight(session, sent, empty_broker):
    # What bin/run does before it starts the worker: nothing can be in flight then.
    fresh = _processing(session, started=_ago(seconds=1), attempts=1)
    out = StringIO()
    call_command("requeue_stuck", "--older-than", "0", stdout=out)
    fresh.refresh_from_db()
    assert fresh.status == Photo.Status.QUEUED
    assert sent == [fresh.id]
