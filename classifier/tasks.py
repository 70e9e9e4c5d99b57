"""Celery tasks: thin interfaces over classifier.services. Arguments are ids only.

Retry policy: transient errors (database busy or gone, storage/network hiccups) retry with
exponential backoff up to 3 times; bad photos fail at once inside `photo_process` with a readable
reason; whatever is left when retries run out (or a bug) reaches `on_failure`, which records it on
the photo, so no photo stays "processing" because its task died.
"""
from __future__ import annotations

import logging

from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.exceptions import HTTPClientError as BotoHTTPClientError
from celery import Task, shared_task
from celery.signals import worker_ready
from django.db import InterfaceError, OperationalError

from classifier import services
from classifier.services.processing import TransientProcessingError

logger = logging.getLogger(__name__)

TRANSIENT_ERRORS = (
    OperationalError,  # SQLite "database is locked", PostgreSQL restarts
    InterfaceError,  # a connection closed under us
    ConnectionError,  # sockets: Redis, S3
    TimeoutError,
    BotoConnectionError,
    BotoHTTPClientError,
    TransientProcessingError,
)
MAX_RETRIES = 3


class PhotoTask(Task):
    """Records the final failure of a photo task on the photo (HackSoft's on_failure service pattern)."""

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        photo_id = kwargs.get("photo_id", args[0] if args else None)
        if photo_id is None:
            return
        if isinstance(exc, TRANSIENT_ERRORS):
            reason = f"gave up after {self.request.retries + 1} tries: {type(exc).__name__}: {exc}"
        else:
            reason = f"internal error while processing ({type(exc).__name__}); use Re-run to try again"
        logger.error("photo %s: task %s failed for good: %r", photo_id, task_id, exc)
        try:
            services.photo_fail(photo_id=photo_id, error=reason)
        except TRANSIENT_ERRORS:
            # Database still down: the sweeper will find the photo stuck and deal with it.
            logger.exception("could not record the failure of photo %s", photo_id)


@shared_task(
    base=PhotoTask,
    bind=True,
    acks_late=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=MAX_RETRIES,
)
def process_photo_task(self, photo_id: int) -> None:
    """Analyse one photo. Safe to deliver twice: only the run that claims the photo does the work."""
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    services.photo_process(photo_id=photo_id, redelivered=redelivered)


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
