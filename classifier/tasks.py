"""Celery tasks: thin interfaces over classifier.services. Arguments are ids only.

Retry policy (eyespy_site.task_base): transient errors (database busy or gone, storage/network hiccups)
retry with exponential backoff up to 3 times; bad photos fail at once inside `photo_process` with a
readable reason; whatever is left when retries run out (or a bug) reaches `on_failure`, which records it
on the photo, so no photo stays "processing" because its task died.
"""
from __future__ import annotations

import logging
import threading

from celery import shared_task
from celery.signals import worker_ready, worker_shutdown

from classifier import services, unsent_sender
from eyespy_site.task_base import RetryingTask, is_retryable

logger = logging.getLogger(__name__)


class PhotoTask(RetryingTask):
    """Records the final failure of a photo task on the photo (HackSoft's on_failure service pattern)."""

    target_kwarg = "photo_id"

    def failure_reason(self, exc: BaseException) -> str:
        if is_retryable(exc):
            return super().failure_reason(exc)
        return f"internal error while processing ({type(exc).__name__}); use Re-run to try again"

    def record_failure(self, target_id: int, reason: str) -> None:
        services.photo_fail(photo_id=target_id, error=reason)


@shared_task(base=PhotoTask, bind=True)
def process_photo_task(self, photo_id: int) -> None:
    """Analyse one photo. Safe to deliver twice: only the run that claims the photo does the work."""
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    services.photo_process(photo_id=photo_id, redelivered=redelivered, task_id=self.request.id or "")


class ZoomTask(RetryingTask):
    """A zoom nobody could make is only logged: the lightbox keeps showing the preview meanwhile."""

    target_kwarg = "photo_id"

    def record_failure(self, target_id: int, reason: str) -> None:
        logger.warning("no 100%% zoom for photo %s: %s", target_id, reason)


@shared_task(base=ZoomTask, bind=True, ignore_result=True)
def make_eye_zoom_task(self, photo_id: int, model_version_id: int, face_index: int) -> None:
    """Cut one face's eyes at 100 % from the original (queue `zooms`: interactive, ahead of a photo backlog)."""
    try:
        services.eye_zoom_make(photo_id=photo_id, model_version_id=model_version_id, face_index=face_index)
    except services.ZoomUnavailable as exc:
        logger.info("no 100%% zoom for photo %s face %s: %s", photo_id, face_index, exc.reason)


@shared_task(acks_late=True, ignore_result=True)
def sweep_stuck_photos_task() -> str:
    """Periodic (beat): re-queue or fail photos stuck in processing, re-send photos lost by the broker."""
    report = services.photos_sweep_stuck()
    return str(report)


@worker_ready.connect
def sweep_at_worker_start(sender=None, **kwargs) -> None:
    """A worker that starts sweeps at once rather than at the first beat (2 minutes later): work a
    dead worker left behind is picked up as soon as a new one can take it."""
    try:
        sweep_stuck_photos_task.delay()
    except Exception as exc:  # the broker hiccuped; beat sweeps again soon
        logger.warning("could not send the start-up sweep: %s", exc)


_unsent_sender_stop = threading.Event()


@worker_ready.connect
def start_unsent_sender(sender=None, **kwargs) -> None:
    """Photos whose task could not be sent (broker down at upload) go out seconds after it is back."""
    _unsent_sender_stop.clear()
    unsent_sender.start(_unsent_sender_stop)


@worker_shutdown.connect
def stop_unsent_sender(sender=None, **kwargs) -> None:
    _unsent_sender_stop.set()
