"""A pool child killed mid-photo (OOM killer, hard time limit): Redis redelivers, the photo still ends well.

Real Redis, a real `celery worker --pool prefork -c 1`, and no test hooks in the app: the photo is just
slow. It is a legal ~100 MP PNG (under the 150 MP limit; PNG has no reduced decode, so every pixel is
inflated and unfiltered) made of one repeated row, so it is ~0.4 MB on disk. Measured on the 2-core dev
box: ~3 s to decode on its own, plus the child's lazy model load, so there is time to kill it.
"""
from __future__ import annotations

import os
import signal
import struct
import time
import zlib
from datetime import datetime

import psutil
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from classifier.models import Prediction
from sessions_app.models import Photo
from tests.factories import make_session, make_user
from tests.integration.conftest import redis_broker_worker
from tests.integration.worker import WorkerProcess, wait_for, wait_until_settled

pytestmark = pytest.mark.django_db(transaction=True)

# Set in the worker's environment (its settings read them from there).
MAX_ATTEMPTS = 2
STUCK_AFTER_SECONDS = 240  # the sweeper's threshold; recovery must not depend on it (no beat runs here anyway)
# A redelivery after SIGKILL took ~0.1 s on Redis (shared/notes/platform-checks.md); generous for a busy box.
REDELIVERY_WITHIN = 15.0
PHOTO_TIMEOUT = 60.0

SLOW_PNG_SIZE = (12_000, 8_400)  # 100.8 MP


def slow_png_bytes(*, size=SLOW_PNG_SIZE, rgba=(200, 150, 120, 255)) -> bytes:
    """A legal 8-bit RGBA PNG of one colour; every row uses the Paeth filter (the slowest to undo)."""
    width, height = size

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    # All-zero Paeth differences repeat the row above (one colour); the decoder still does the full work.
    row = b"\x04" + bytes(4 * width)
    first = b"\x00" + bytes(rgba) * width
    packer = zlib.compressobj(9)
    idat = b"".join([packer.compress(first), *(packer.compress(row) for _ in range(height - 1)), packer.flush()])
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def slow_png() -> bytes:
    return slow_png_bytes()


@pytest.fixture(scope="module")
def dying_worker(django_db_setup, django_db_blocker, shared_media_dir, tmp_path_factory):
    with redis_broker_worker(
        django_db_blocker=django_db_blocker,
        media_dir=shared_media_dir,
        var_dir=tmp_path_factory.mktemp("dying-worker-var"),
        extra_env={"EYESPY_MAX_ATTEMPTS": str(MAX_ATTEMPTS), "EYESPY_STUCK_AFTER_SECONDS": str(STUCK_AFTER_SECONDS)},
    ) as worker:
        yield worker


def _upload(client, name: str, data: bytes) -> Photo:
    user = make_user()
    session = make_session(user)
    client.force_login(user)
    response = client.post(
        f"/sessions/{session.uuid}/upload/",
        {"file": SimpleUploadedFile(name, data, content_type="image/png")},
        headers={"accept": "application/json"},
    )
    assert response.status_code == 201, response.content
    return Photo.objects.get(session=session)


def _diagnostics(worker: WorkerProcess, photo_id: int):
    def show() -> str:
        row = Photo.objects.filter(pk=photo_id).values("status", "attempts", "error", "started_at").first()
        return f"photo: {row}\nworker log:\n{worker.log()[-3000:]}"

    return show


def _wait_processing(worker: WorkerProcess, photo_id: int, *, attempt: int) -> datetime:
    """Wait until the worker has claimed the photo for the `attempt`-th time; returns that claim's start."""

    def claimed() -> bool:
        return Photo.objects.filter(pk=photo_id, status=Photo.Status.PROCESSING, attempts=attempt).exists()

    wait_for(
        claimed, timeout=PHOTO_TIMEOUT, what=f"claim #{attempt} of the photo", on_timeout=_diagnostics(worker, photo_id)
    )
    return Photo.objects.values_list("started_at", flat=True).get(pk=photo_id)


def _kill_pool_child(worker: WorkerProcess) -> int:
    """SIGKILL the worker's only pool child (the one running the photo: -c 1). Returns its pid."""
    children = [p for p in psutil.Process(worker.proc.pid).children() if p.status() != psutil.STATUS_ZOMBIE]
    assert len(children) == 1, f"expected one pool child, found {children}"
    child = children[0]
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=10)  # gone (reaped by the worker's main process)
    return child.pid


def test_killed_child_photo_is_redelivered_and_finished(client, dying_worker, shared_media, slow_png):
    photo = _upload(client, "huge.png", slow_png)
    first_start = _wait_processing(dying_worker, photo.id, attempt=1)

    killed = _kill_pool_child(dying_worker)
    killed_at = timezone.now()

    # The kill landed mid-photo: only a redelivery claims a photo twice, and a done photo can't be claimed.
    # Redelivered (reject_on_worker_lost) and claimed again from `processing` by the new child.
    second_start = _wait_processing(dying_worker, photo.id, attempt=2)
    assert second_start > first_start
    assert (second_start - killed_at).total_seconds() < REDELIVERY_WITHIN
    wait_until_settled(dying_worker, [photo.id], timeout=PHOTO_TIMEOUT)

    photo.refresh_from_db()
    assert photo.status == Photo.Status.DONE, photo.error
    assert photo.attempts == 2
    assert (photo.width, photo.height) == SLOW_PNG_SIZE
    assert Prediction.objects.filter(photo=photo).count() == 1
    assert (shared_media / photo.thumbnail.name).is_file()
    # Recovered by the redelivery, long before the sweeper would have called it stuck.
    assert (photo.finished_at - killed_at).total_seconds() < STUCK_AFTER_SECONDS / 4
    assert dying_worker.alive()
    log = dying_worker.log()
    assert f"pid:{killed} exited with 'signal 9 (SIGKILL)'" in log
    assert "WorkerLostError" in log


def test_photo_that_keeps_killing_the_child_fails_with_a_reason(client, dying_worker, shared_media):
    # Another colour: a different file, so the test doesn't lean on the first test's session being gone.
    photo = _upload(client, "killer.png", slow_png_bytes(rgba=(90, 60, 40, 255)))
    for attempt in range(1, MAX_ATTEMPTS + 1):
        _wait_processing(dying_worker, photo.id, attempt=attempt)
        _kill_pool_child(dying_worker)

    started = time.monotonic()
    wait_until_settled(dying_worker, [photo.id], timeout=PHOTO_TIMEOUT)

    photo.refresh_from_db()
    assert photo.status == Photo.Status.FAILED
    assert f"processing stopped the worker {MAX_ATTEMPTS} times" in photo.error
    assert photo.attempts == MAX_ATTEMPTS
    assert not Prediction.objects.filter(photo=photo).exists()
    assert time.monotonic() - started < REDELIVERY_WITHIN  # failed by the last redelivery, not the sweeper
    assert dying_worker.alive()
