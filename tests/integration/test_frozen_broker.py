"""A frozen broker: Redis stopped with SIGSTOP, so its connections stay open and nothing answers (a stalled VM,
or a Redis cut off by the network, looks the same from here), with a real worker and real uploads.

Every upload answers while Redis is still stopped: publishing gives up on the broker's read timeout, the
photo is marked unsent, and the web process's pooled connection that was stuck mid-command is dropped.
After SIGCONT the worker (which waits a stall out, on purpose) re-sends them and every photo, the one it was
processing when Redis froze included, is done exactly once. Run on the embedded Redis (unix socket) and
on a Redis over TCP, as production's; both are private servers this test may stop, never a shared one.
"""
from __future__ import annotations

import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from classifier.models import Prediction
from classifier.services import processing
from sessions_app.models import Photo
from tests.factories import make_session, make_user, noisy_jpeg_bytes
from tests.integration.test_worker_death import slow_png_bytes
from tests.integration.worker import embedded_redis_worker, test_database_url, wait_for, wait_until_settled

pytestmark = pytest.mark.django_db(transaction=True)

# The test resumes Redis by itself after this long, so an upload stuck on the frozen broker fails the test
# (it answered only once Redis was back) instead of hanging it. Several uploads fit well inside.
RESUME_AFTER_SECONDS = 10
STUCK_AFTER_SECONDS = 600  # the stuck-photo sweeper plays no part (beat is off anyway)


def _upload(client, session, name: str, data: bytes, content_type: str = "image/jpeg"):
    return client.post(
        f"/sessions/{session.uuid}/upload/",
        {"file": SimpleUploadedFile(name, data, content_type=content_type)},
        headers={"accept": "application/json"},
    )


def _ids(session, prefix: str) -> list[int]:
    photos = Photo.objects.filter(session=session, original_filename__startswith=prefix)
    return list(photos.values_list("pk", flat=True))


@pytest.mark.parametrize("tcp", [False, True], ids=["embedded-unix-socket", "tcp"])
def test_uploads_answer_while_the_broker_is_frozen_and_each_photo_is_processed_once_after(
        client, shared_media, tmp_path_factory, tcp):
    var_dir = tmp_path_factory.mktemp("frozen-var")
    env = {"EYESPY_STUCK_AFTER_SECONDS": str(STUCK_AFTER_SECONDS)}
    with embedded_redis_worker(db_url=test_database_url(), var_dir=var_dir, media_dir=shared_media,
                               extra_env=env, tcp=tcp) as worker:
        user = make_user()
        client.force_login(user)
        session = make_session(user)
        # Healthy first: this process now holds pooled broker connections, which the freeze leaves open.
        assert _upload(client, session, "A_0.JPG", noisy_jpeg_bytes((320, 240), seed=500)).status_code == 201
        # A slow photo is being processed when Redis freezes, so the worker's ack has to wait for it.
        png = slow_png_bytes(size=(2400, 1600), rgba=(90, 80, 70, 255))
        assert _upload(client, session, "A_slow.png", png, "image/png").status_code == 201
        [slow_id] = _ids(session, "A_slow")
        wait_for(lambda: Photo.objects.filter(pk=slow_id).exclude(status=Photo.Status.QUEUED).exists(),
                 timeout=60, what="the worker to start on the slow photo", on_timeout=worker.log)

        broker = worker.broker
        resumed = threading.Event()

        def resume() -> None:
            broker.thaw()
            resumed.set()

        watchdog = threading.Timer(RESUME_AFTER_SECONDS, resume)
        broker.freeze()
        watchdog.start()
        try:
            during = [_upload(client, session, f"B_{i}.JPG", noisy_jpeg_bytes((320, 240), seed=600 + i))
                      for i in range(4)]
            answered_while_frozen = not resumed.is_set()
            # Read while Redis is still stopped: once it resumes, a publish that timed out may still land
            # and the worker start on that photo.
            frozen_ids = _ids(session, "B_")
            while_frozen = set(Photo.objects.filter(pk__in=frozen_ids).values_list("status", "unsent"))
        finally:
            watchdog.cancel()
            resume()
        assert answered_while_frozen, f"the uploads waited for the frozen broker (resumed after {RESUME_AFTER_SECONDS} s)"
        assert [r.status_code for r in during] == [201] * 4, [r.content for r in during]
        assert while_frozen == {("queued", True)}

        # Back: an upload publishes at once again, on a fresh connection (a pooled one that was stuck
        # mid-command would read the stale reply). Only this process's short-circuit is skipped here.
        processing._broker_down_until = 0.0  # what BROKER_DOWN_SECONDS would end by itself
        assert _upload(client, session, "C_0.JPG", noisy_jpeg_bytes((320, 240), seed=700)).status_code == 201
        assert not Photo.objects.get(session=session, original_filename="C_0.JPG").unsent

        ids = list(Photo.objects.filter(session=session).values_list("pk", flat=True))
        wait_until_settled(worker, ids, timeout=90)
        assert worker.alive()
        log = worker.log()

    rows = {p.pk: p for p in Photo.objects.filter(pk__in=ids)}
    assert len(rows) == 7
    assert {p.status for p in rows.values()} == {Photo.Status.DONE}, [(p.original_filename, p.error) for p in rows.values()]
    for pk, photo in rows.items():
        assert (photo.attempts, photo.unsent) == (1, False), photo.original_filename
        assert Prediction.objects.filter(photo_id=pk).count() == 1, photo.original_filename
    # Each was re-sent by the worker or delivered by a send that timed out but landed once Redis resumed;
    # either way the claim let one message through (attempts == 1 above), and no sweeper was needed.
    assert "stuck photos:" not in log
