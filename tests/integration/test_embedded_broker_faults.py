"""Faults on the zero-service default: the embedded Redis (unix socket, append-only file) and a real worker.

* The whole worker is SIGKILLed mid-session (main process and pool children, as the OOM killer or a
  power cut would): the messages it held come back after the visibility timeout (made short here), a
  new worker takes them, and every photo ends done exactly once, with no sweeper involved.
* The broker is SIGKILLed during uploads: every upload still answers 201, the photos whose message
  could not be sent stay queued and are marked unsent, and after Redis restarts (same folder, its
  append-only file) the worker reconnects by itself and re-sends them within seconds, so processing
  catches up without the stuck-photo sweeper (its stuck time is out of reach here, beat is off).
"""
from __future__ import annotations

import re
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from classifier.models import Prediction
from eyespy_site import embedded_redis
from sessions_app.models import Photo
from tests.factories import make_session, make_user, noisy_jpeg_bytes
from tests.integration.test_worker_death import slow_png_bytes
from tests.integration.worker import embedded_redis_worker, test_database_url, wait_for, wait_until_settled

pytestmark = pytest.mark.django_db(transaction=True)

VISIBILITY_TIMEOUT = 6  # seconds; production keeps 3600 (longer than any task)
STUCK_AFTER_SECONDS = 600  # the sweeper must play no part in the first test


def _upload(client, session, name: str, data: bytes, content_type: str = "image/jpeg"):
    return client.post(
        f"/sessions/{session.uuid}/upload/",
        {"file": SimpleUploadedFile(name, data, content_type=content_type)},
        headers={"accept": "application/json"},
    )


def _log_in_with_session(client):
    user = make_user()
    client.force_login(user)
    return make_session(user)


def _rows(ids):
    return {p.pk: p for p in Photo.objects.filter(pk__in=ids)}


def test_whole_worker_killed_mid_session_every_photo_still_done_once(client, shared_media, tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("kill-worker-var")
    env = {"CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT), "EYESPY_STUCK_AFTER_SECONDS": str(STUCK_AFTER_SECONDS)}
    with embedded_redis_worker(db_url=test_database_url(), var_dir=var_dir, media_dir=shared_media,
                               extra_env=env, concurrency=2) as worker:
        session = _log_in_with_session(client)
        # Two slow photos first (PNGs have no reduced decode: ~1-2 s each here, well under the visibility
        # timeout, or a healthy run would be redelivered too), so both children are busy when the kill lands.
        for i in range(2):
            png = slow_png_bytes(size=(2400, 1600), rgba=(100 + i, 80, 60, 255))
            assert _upload(client, session, f"slow-{i}.png", png, "image/png").status_code == 201
        for i in range(6):
            assert _upload(client, session, f"IMG_{i}.JPG", noisy_jpeg_bytes((480, 360), seed=200 + i)).status_code == 201
        ids = list(Photo.objects.filter(session=session).values_list("pk", flat=True))

        def two_processing() -> bool:
            return Photo.objects.filter(pk__in=ids, status=Photo.Status.PROCESSING).count() == 2

        wait_for(two_processing, timeout=60, what="both children to be working", on_timeout=worker.log)
        in_flight = set(Photo.objects.filter(pk__in=ids, status=Photo.Status.PROCESSING).values_list("pk", flat=True))
        worker.kill()
        killed_at = time.monotonic()

        replacement = worker.respawn()  # what bin/run's supervisor does
        try:
            replacement.wait_ready()
            wait_until_settled(replacement, ids, timeout=120)
        finally:
            replacement.stop()
        settled_after = time.monotonic() - killed_at

    rows = _rows(ids)
    assert {p.status for p in rows.values()} == {Photo.Status.DONE}, {p.original_filename: p.error for p in rows.values()}
    for pk, photo in rows.items():
        assert Prediction.objects.filter(photo_id=pk).count() == 1, photo.original_filename
        # The photos the dead worker held were claimed once more by their redelivered message; no others were.
        assert photo.attempts == (2 if pk in in_flight else 1), (photo.original_filename, photo.attempts)
    # Redelivered after the visibility timeout (plus a restore scan and the slow decode), nowhere near the
    # sweeper's threshold.
    assert settled_after < VISIBILITY_TIMEOUT + 60 < STUCK_AFTER_SECONDS
    assert "0 re-queued, 0 failed, 0 re-sent" in replacement.log()  # the start-up sweep found nothing to do


def test_broker_killed_during_uploads_uploads_succeed_and_processing_catches_up(client, shared_media, tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("kill-broker-var")
    env = {"EYESPY_STUCK_AFTER_SECONDS": str(STUCK_AFTER_SECONDS)}
    with embedded_redis_worker(db_url=test_database_url(), var_dir=var_dir, media_dir=shared_media,
                               extra_env=env) as worker:
        session = _log_in_with_session(client)
        before = [_upload(client, session, f"A_{i}.JPG", noisy_jpeg_bytes((320, 240), seed=300 + i)) for i in range(3)]
        worker.broker.kill()
        assert not embedded_redis.ping(worker.broker.socket)
        during = [_upload(client, session, f"B_{i}.JPG", noisy_jpeg_bytes((320, 240), seed=400 + i)) for i in range(4)]
        assert [r.status_code for r in before + during] == [201] * 7, [r.content for r in before + during]
        lost = list(Photo.objects.filter(session=session, original_filename__startswith="B_").values_list("pk", flat=True))
        assert set(Photo.objects.filter(pk__in=lost).values_list("status", "unsent")) == {("queued", True)}
        assert len(lost) == 4

        worker.broker = embedded_redis.start(var_dir)  # what bin/run's supervisor does when Redis dies
        back_at = time.monotonic()
        ids = list(Photo.objects.filter(session=session).values_list("pk", flat=True))
        wait_until_settled(worker, ids, timeout=90)
        caught_up_after = time.monotonic() - back_at
        assert worker.alive()  # it reconnected by itself
        log = worker.log()

    rows = _rows(ids)
    assert {p.status for p in rows.values()} == {Photo.Status.DONE}, {p.original_filename: p.error for p in rows.values()}
    assert all(Prediction.objects.filter(photo_id=pk).count() == 1 for pk in ids)
    assert all(p.attempts == 1 and not p.unsent for p in rows.values())
    assert sum(int(n) for n in re.findall(r"re-sent (\d+) unsent photo", log)) == 4, log
    assert "stuck photos:" not in log  # the sweeper played no part
    assert caught_up_after < 60 < STUCK_AFTER_SECONDS
