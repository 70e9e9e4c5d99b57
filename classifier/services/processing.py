"""Processing a photo: claim it, analyse it with the live model, store derivatives and the prediction.

The Celery task (classifier.tasks.process_photo_task) and `import_session --inline` both call
`photo_process`. Photo status goes queued -> processing -> done | failed; only a conditional update
moves a photo out of `queued`, so two workers never process the same photo at once, and a photo that
is done stays done until someone re-runs it through `photos_requeue`.

This module decides when a photo moves; the rows themselves are sessions_app's and are moved only by
its `photo_state` services (docs/ARCHITECTURE.md, "Who writes what").
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import BinaryIO

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from classifier import worker_model
from classifier.models import ModelVersion, Prediction
from eyespy_site.errors import AppError, TransientError
from sessions_app import media_names
from sessions_app import services as sessions_services
from sessions_app.models import Photo

from .. import findings
from .model_versions import live_model_version

logger = logging.getLogger(__name__)

# A sweep re-enqueues at most this many lost queued photos (the rest go in the next sweep).
SWEEP_BATCH = 1000


class PermanentProcessingError(AppError):
    """This photo can't be processed, and trying again won't help. `reason` is shown to the photographer."""


class TransientProcessingError(TransientError):
    """Something outside the photo failed (storage hiccup); the task retries it."""


# --- Enqueue / claim / finish -------------------------------------------------------------------------


# After a failed send this process marks new photos unsent at once for a few seconds instead of waiting for
# the broker's timeout again on each: an import of 600 photos during an outage would otherwise sleep ~0.7 s
# per photo. The workers' re-sender (photos_send_unsent) always tries.
BROKER_DOWN_SECONDS = 5.0
_broker_down_until = 0.0  # time.monotonic() before which the broker counts as down in this process


class BrokerRecentlyDown(Exception):
    def __str__(self) -> str:
        return f"the broker was unreachable less than {BROKER_DOWN_SECONDS:.0f} s ago"


def photos_enqueue(*, photo_ids) -> None:
    """Queue one processing task per photo once the current transaction commits."""
    ids = [int(pk) for pk in photo_ids]
    if not ids:
        return

    def send() -> None:
        sent, error = _send_tasks(ids, skip_when_down=True)
        if error is not None:
            logger.warning("broker unreachable, %d photo(s) marked unsent for the workers to re-send: %s",
                           len(ids) - sent, error)
        if sent:
            logger.info("enqueued %d photo(s)", sent)

    # robust: a broker outage must not turn a committed upload into a 500 (and _send_tasks already
    # marked what it couldn't send).
    transaction.on_commit(send, robust=True)


def photos_send_unsent(*, limit: int = SWEEP_BATCH) -> int:
    """Send the tasks of photos whose first send failed (broker down). Returns how many went out.

    Called every few seconds by each worker's main process (classifier/unsent_sender.py), so uploads
    made while the broker was down are processed as soon as it is back, not after the sweeper's stuck
    time. Sent first, unmarked after: a crash in between costs a duplicate message, which the claim absorbs.
    """
    ids = sessions_services.photos_state_unsent(limit=limit)
    if not ids:
        return 0
    sent, error = _send_tasks(ids)
    sessions_services.photos_state_mark_sent(photo_ids=ids[:sent])
    if sent:
        logger.warning("re-sent %d unsent photo(s)", sent)
    if error is not None:
        raise error
    return sent


def _send_tasks(ids: list[int], *, skip_when_down: bool = False) -> tuple[int, Exception | None]:
    """Send one task per id, in order; stop at the first failure (the broker is down: each further try
    would wait for its own timeout) and mark that photo and the rest unsent. Returns (sent, the error).
    `skip_when_down`: while a recent send failed in this process, mark them unsent without trying."""
    global _broker_down_until
    from kombu.exceptions import OperationalError as BrokerError

    from classifier.tasks import process_photo_task  # tasks import services; import late

    if skip_when_down and time.monotonic() < _broker_down_until:
        sessions_services.photos_state_mark_unsent(photo_ids=ids)
        return 0, BrokerRecentlyDown()
    for sent, pk in enumerate(ids):
        try:
            process_photo_task.delay(pk)
        except (BrokerError, OSError) as exc:  # kombu wraps the transport's connection errors in BrokerError
            _broker_down_until = time.monotonic() + BROKER_DOWN_SECONDS
            sessions_services.photos_state_mark_unsent(photo_ids=ids[sent:])
            return sent, exc
    _broker_down_until = 0.0
    return len(ids), None


def photo_claim(*, photo_id: int, redelivered: bool = False, task_id: str = "") -> bool:
    """Move the photo queued -> processing. False when it isn't queued (done, failed, or someone has it).

    The same message coming back means the worker that had it died mid-photo (acks_late +
    reject_on_worker_lost): the broker may flag it `redelivered`, and it carries the task id that claimed
    the photo (which is recorded), so either way it takes the photo back from `processing` at once, with
    no sweeper wait — unless the photo has now killed EYESPY_MAX_ATTEMPTS workers, in which case it fails
    for good instead of crashing them forever. Another message for the same photo (a re-send) still can't.
    """
    max_attempts = settings.EYESPY_MAX_ATTEMPTS
    if (redelivered or task_id) and sessions_services.photo_state_give_up(
        photo_id=photo_id, max_attempts=max_attempts, task_id=task_id, take_back=redelivered,
        error=f"processing stopped the worker {max_attempts} times; the file may be damaged",
    ):
        # Otherwise the log only says "not queued; skipping" for a photo that just failed for good.
        logger.warning("photo %s stopped the worker %d times; failed", photo_id, max_attempts)
    return sessions_services.photo_state_claim(photo_id=photo_id, task_id=task_id, take_back=redelivered)


def photo_release(*, photo_id: int, task_id: str = "") -> None:
    """Put a photo we claimed back to queued so a retry (or the sweeper) can claim it again."""
    sessions_services.photo_state_release(photo_id=photo_id, task_id=task_id)


def photo_fail(*, photo_id: int, error: str) -> bool:
    """Record a failure with a readable reason. A photo that is already done stays done."""
    failed = sessions_services.photo_state_fail(photo_id=photo_id, error=error)
    if failed:
        logger.info("photo %s failed: %s", photo_id, error)
    return failed


def photos_requeue(*, photos_qs: QuerySet[Photo]) -> int:
    """Reset photos to queued and enqueue them (the re-run button, the admin action). Returns how many.

    Takes failed and done photos, and queued/processing ones only once they look stuck, so a photo
    that a worker is working on right now is never run twice at once. Attempts start again from 0.
    """
    stuck_before = timezone.now() - timedelta(seconds=settings.EYESPY_STUCK_AFTER_SECONDS)
    with transaction.atomic():
        ids = sessions_services.photos_state_rerun(photos_qs=photos_qs, stuck_before=stuck_before)
        if not ids:
            return 0
        photos_enqueue(photo_ids=ids)
    logger.info("re-queued %d photo(s)", len(ids))
    return len(ids)


# --- The job ------------------------------------------------------------------------------------------


def photo_process(*, photo_id: int, redelivered: bool = False, task_id: str = "") -> None:
    """Process one photo end to end (see module doc). Quietly does nothing if the photo isn't queued.

    Bad files end as `failed` with the reason; anything else (database, storage, a bug) puts the photo
    back to `queued` and re-raises, so the Celery task can retry it. Nothing is half-written: the
    prediction and `done` commit together, and only while this run still holds the photo.
    """
    from ml.imaging import ImageError

    if not photo_claim(photo_id=photo_id, redelivered=redelivered, task_id=task_id):
        logger.info("photo %s is not queued (done, failed, gone or taken); skipping", photo_id)
        return
    try:
        photo = Photo.objects.select_related("session").get(pk=photo_id)
        _analyse_and_store(photo)
    except _ClaimLost:
        # The sweeper or a re-run moved the photo while we worked: its new owner decides; we wrote nothing.
        logger.warning("photo %s was taken away while being processed; its result was dropped", photo_id)
    except ImageError as exc:
        photo_fail(photo_id=photo_id, error=exc.reason)
    except PermanentProcessingError as exc:
        photo_fail(photo_id=photo_id, error=exc.reason)
    except FileNotFoundError:
        photo_fail(photo_id=photo_id, error="the original file is missing from storage")
    except SoftTimeLimitExceeded:
        photo_fail(
            photo_id=photo_id,
            error=f"processing took longer than {settings.CELERY_TASK_SOFT_TIME_LIMIT} s and was stopped",
        )
    except Exception:
        photo_release(photo_id=photo_id, task_id=task_id)
        raise


class _ClaimLost(Exception):
    """Raised inside the final transaction when the photo is no longer ours, to roll the prediction back."""


@dataclass(frozen=True)
class _Stored:
    thumbnail: str
    preview: str


def _store(name: str, data: bytes) -> str:
    """Write a derived file under a fixed name (a re-run replaces it). Returns the storage name.

    A failed write leaves at most files under the photo's own derived folder, which the next run
    replaces and deleting the photo removes: never a file no row leads to."""
    try:
        if default_storage.exists(name):
            default_storage.delete(name)
        return default_storage.save(name, ContentFile(data))
    except OSError as exc:
        # A full or failing disk is the machine's problem, not the photo's (as when reading): retry. Left
        # as it was, a FileNotFoundError here would read as "the original file is missing".
        raise TransientProcessingError(f"can't write {name}: {exc}") from exc


def _read_original(photo: Photo, name: str = "") -> bytes:
    if not photo.original:
        raise PermanentProcessingError("the photo has no original file")
    name = name or photo.original.name
    try:
        with default_storage.open(name, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        raise
    except OSError as exc:
        # A local disk error is the machine's problem, not the photo's: let the task retry.
        raise TransientProcessingError(f"can't read {name}: {exc}") from exc


@contextmanager
def _source(photo: Photo) -> Iterator[tuple[bytes | BinaryIO, str]]:
    """(what to decode, which file it is). A RAW alone on local storage is handed over as an open file, so
    that only what the decoder needs of it is read (a TIFF RAW's preview: a few MB of 25-60); anything else,
    and everything on S3 (whose file objects download the whole object anyway), as bytes."""
    path = _local_path(photo.original.name) if photo.is_raw and not photo.companion else None
    if path is None:
        yield _source_bytes(photo)
        return
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed by the with below, after the decode
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise TransientProcessingError(f"can't read {photo.original.name}: {exc}") from exc
    with fh:
        yield fh, photo.original_filename


def _local_path(name: str) -> str | None:
    try:
        return default_storage.path(name)
    except NotImplementedError:
        return None


def _source_bytes(photo: Photo) -> tuple[bytes, str]:
    """(the bytes to analyse, which file they are). A RAW + JPEG pair is analysed once, from the larger of
    the JPEG and the RAW's embedded preview (the JPEG on a tie: it is what the camera rendered)."""
    from ml.imaging import ImageError, image_header_info, preview_long_side

    data = _read_original(photo)
    if not photo.companion:  # (a lone RAW on local storage is opened by _source instead)
        return data, photo.original_filename
    try:
        twin = _read_original(photo, photo.companion.name)
    except FileNotFoundError:
        return data, photo.original_filename  # the RAW alone still makes the photo
    try:
        twin_side = max(image_header_info(twin)[1:3])
    except ImageError:
        return data, photo.original_filename
    try:
        raw_side = preview_long_side(data)
    except ImageError:
        raw_side = 0  # a damaged RAW: its twin is the better source by far
    return (twin, photo.companion_filename) if twin_side >= raw_side else (data, photo.original_filename)


def _aware(value: datetime | None) -> datetime | None:
    # EXIF times carry no zone: read them as the studio's local time.
    if value is None or timezone.is_aware(value):
        return value
    return timezone.make_aware(value, timezone.get_default_timezone())


def _analyse_and_store(photo: Photo) -> None:
    from ml.analysis import analyse
    from ml.imaging import decode, make_derivatives
    from ml.types import Thresholds

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    version: ModelVersion = live_model_version()
    model = worker_model.eye_model_for(version)
    t1 = time.perf_counter()
    with _source(photo) as (data, source_name):
        t2 = time.perf_counter()
        decoded = decode(data, max_pixels=settings.EYESPY_MAX_PIXELS)
    del data
    t3 = time.perf_counter()
    thumb_jpeg, preview_jpeg = make_derivatives(decoded)
    t4 = time.perf_counter()
    analysis = analyse(decoded, model=model, thresholds=Thresholds.from_strictness(photo.session.strictness))
    t5 = time.perf_counter()

    # Storage I/O (S3 puts) stays outside the database transaction.
    stored = _Stored(
        thumbnail=_store(media_names.thumbnail_name(photo.uuid), thumb_jpeg),
        preview=_store(media_names.preview_name(photo.uuid), preview_jpeg),
    )
    details = analysis.to_dict()
    details["checks"] = findings.analysed_checks(analysis=analysis, image=decoded)  # the other checks
    for i, face in enumerate(analysis.faces):
        for j, eye in enumerate(face.eyes):
            if eye.crop:
                name = media_names.eye_crop_new_name(
                    photo_uuid=photo.uuid, model_version_id=version.id, face_index=i, side=eye.side)
                details["faces"][i]["eyes"][j][media_names.EYE_CROP_KEY] = _store(name, eye.crop)
    t6 = time.perf_counter()
    timings.update(
        model_ms=(t1 - t0) * 1000,
        read_ms=(t2 - t1) * 1000,
        decode_ms=(t3 - t2) * 1000,
        derivatives_ms=(t4 - t3) * 1000,
        analyse_ms=(t5 - t4) * 1000,
        store_ms=(t6 - t5) * 1000,
    )
    details["timings_ms"] = {**details.get("timings_ms", {}), **{k: round(v, 1) for k, v in timings.items()}}
    details["model"] = {"version": version.name, "weights": getattr(model, "version", "")}
    # Which file the pixels came from, and for a RAW how (its preview, or a half-size decode and why).
    details["source"] = {"file": source_name, "decoded": decoded.source or decoded.format}

    with transaction.atomic():
        if _files_changed(photo):
            # A RAW or JPEG twin joined while we worked: analyse again with both files (release, re-send).
            photo_release(photo_id=photo.pk)
            photos_enqueue(photo_ids=[photo.pk])
            return
        prediction_record(
            photo=photo,
            model_version=version,
            verdict=analysis.verdict.value,
            confidence=float(analysis.confidence),
            reason=analysis.reason,
            details=details,
        )
        done = sessions_services.photo_state_done(
            photo_id=photo.pk,
            width=decoded.original_width,
            height=decoded.original_height,
            taken_at=_aware(decoded.taken_at),
            thumbnail=stored.thumbnail,
            preview=stored.preview,
        )
        if not done:
            raise _ClaimLost()
    logger.info(
        "photo %s: %s (%.2f) in %.0f ms - %s",
        photo.pk, analysis.verdict.value, analysis.confidence, (t6 - t0) * 1000, analysis.reason,
    )


def _files_changed(photo: Photo) -> bool:
    """Whether the photo's originals differ from those this run read (locks the row until the commit)."""
    now = Photo.objects.select_for_update().filter(pk=photo.pk).values_list("sha256", "companion_sha256").first()
    return now is not None and now != (photo.sha256, photo.companion_sha256)


def prediction_record(
    *, photo: Photo, model_version: ModelVersion, verdict: str, confidence: float, reason: str, details: dict
) -> Prediction:
    """Create or replace this model version's prediction for the photo. Corrections are never touched."""
    prediction, _ = Prediction.objects.update_or_create(
        photo=photo,
        model_version=model_version,
        defaults={"verdict": verdict, "confidence": confidence, "reason": reason[:500], "details": details},
    )
    return prediction


# --- Stuck work ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepReport:
    requeued: int  # processing too long -> queued again
    failed: int  # processing too long, out of attempts -> failed
    resent: int  # queued too long with an empty broker queue -> task sent again

    def __str__(self) -> str:
        return f"{self.requeued} re-queued, {self.failed} failed, {self.resent} re-sent"


def broker_queue_depth(queue: str = "photos") -> int | None:
    """Messages waiting in the broker queue, or None when the broker can't say."""
    from kombu.exceptions import ChannelError, OperationalError

    from eyespy_site.celery import app

    try:
        with app.connection_for_read() as conn:
            return conn.default_channel.queue_declare(queue=queue, passive=True).message_count
    except ChannelError:
        return 0  # Redis reports an empty queue as a missing one
    except (OperationalError, OSError) as exc:
        logger.warning("can't read the depth of broker queue %s: %s", queue, exc)
        return None


def photos_sweep_stuck(*, now: datetime | None = None, stuck_after: int | None = None) -> SweepReport:
    """Re-queue photos stuck in `processing` (or fail them after EYESPY_MAX_ATTEMPTS), and re-send lost ones.

    Why the second part: a message can still be lost without anyone noticing (a web process killed
    between its commit and its send; a broker that lost data), and the photo would sit in `queued`
    forever. (A send that fails is noticed: `photos_send_unsent` re-sends those within seconds.) Photos
    queued for longer than the stuck time are sent again, but only while the broker's queue is empty, so a long, healthy backlog isn't
    doubled. A duplicate message is harmless anyway: the claim lets only one run through.
    """
    now = now or timezone.now()
    stuck_after = settings.EYESPY_STUCK_AFTER_SECONDS if stuck_after is None else stuck_after
    max_attempts = settings.EYESPY_MAX_ATTEMPTS
    cutoff = now - timedelta(seconds=stuck_after)

    requeue_ids: list[int] = []
    failed = 0
    for pk, attempts, started_at in sessions_services.photos_state_stuck(processing_before=cutoff):
        # Conditional on what we read, so a photo that finished meanwhile is left alone.
        if attempts >= max_attempts:
            failed += sessions_services.photo_state_fail_stuck(
                photo_id=pk, started_at=started_at,
                error=f"gave up after {attempts} attempts (processing never finished)")
        elif sessions_services.photo_state_requeue_stuck(photo_id=pk, started_at=started_at):
            requeue_ids.append(pk)

    resent_ids: list[int] = []
    lost = sessions_services.photos_state_waiting(queued_before=cutoff, limit=SWEEP_BATCH)
    # Unknown depth (broker unreachable) counts as empty: a duplicate message costs one failed claim.
    if lost and not broker_queue_depth():
        resent_ids = lost
        # Touch them so the next sweep doesn't send them again straight away.
        sessions_services.photos_state_touch(photo_ids=resent_ids)

    photos_enqueue(photo_ids=requeue_ids + resent_ids)
    report = SweepReport(requeued=len(requeue_ids), failed=failed, resent=len(resent_ids))
    if requeue_ids or failed or resent_ids:
        logger.warning("stuck photos: %s", report)
    return report
