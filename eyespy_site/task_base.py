"""The one retry policy of every background job (photos, exports, and whatever joins them).

Transient errors (database busy or gone, broker/storage/network hiccups, `TransientError`) retry with
exponential backoff and jitter, at most `MAX_RETRIES` times. A task that still fails, or hits a bug,
reaches `on_failure`, which hands a readable reason to the task's `record_failure`, so no row is left
saying "processing" or "building…" because its task died. Jobs are idempotent (they claim their row with
a conditional update), so a retry or a second delivery is harmless.
"""
from __future__ import annotations

import logging

from botocore.exceptions import ClientError as BotoClientError
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.exceptions import HTTPClientError as BotoHTTPClientError
from celery import Task
from django.db import InterfaceError, OperationalError

from .errors import TransientError

logger = logging.getLogger(__name__)

RETRYABLE_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,  # SQLite "database is locked", PostgreSQL restarts
    InterfaceError,  # a connection closed under us
    ConnectionError,  # sockets: Redis, S3
    TimeoutError,
    BotoConnectionError,  # S3 endpoint unreachable / reset
    BotoHTTPClientError,
    TransientError,
)
MAX_RETRIES = 3

# S3 error codes that mean "not now" rather than "no": botocore has already retried them a few times.
_S3_LATER_CODES = frozenset({"SlowDown", "Throttling", "ThrottlingException", "RequestTimeout", "ServiceUnavailable"})


def is_transient_storage_answer(exc: BaseException) -> bool:
    """True for an S3-compatible store's "try later" answer: throttling (503 SlowDown) or any 5xx.

    Those arrive as botocore's ClientError, like a permanent 403 or 404, so they can't simply be listed
    in RETRYABLE_ERRORS by type: RetryingTask.retry tells them apart."""
    if not isinstance(exc, BotoClientError):
        return False
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
    return status >= 500 or exc.response.get("Error", {}).get("Code", "") in _S3_LATER_CODES


def is_retryable(exc: BaseException) -> bool:
    """Whether trying a job again may work: the errors above, or storage asking to try later."""
    return isinstance(exc, RETRYABLE_ERRORS) or is_transient_storage_answer(exc)


class RetryingTask(Task):
    """Base of every task: the retry policy above, and the final failure recorded on the task's row.

    Subclasses set `target_kwarg` (the id argument, e.g. "photo_id") and implement `record_failure`.
    """

    acks_late = True
    autoretry_for = (*RETRYABLE_ERRORS, BotoClientError)  # which ClientErrors really retry: see retry()
    retry_backoff = 2
    retry_backoff_max = 60
    retry_jitter = True
    max_retries = MAX_RETRIES
    target_kwarg = ""

    def record_failure(self, target_id: int, reason: str) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def retry(self, *args, exc: BaseException | None = None, **kwargs):
        # Every S3 refusal is a ClientError: a 403 or 404 fails now, only "try later" answers come back.
        if isinstance(exc, BotoClientError) and not is_transient_storage_answer(exc):
            raise exc
        return super().retry(*args, exc=exc, **kwargs)

    def failure_reason(self, exc: BaseException) -> str:
        if is_retryable(exc):
            return f"gave up after {self.request.retries + 1} tries: {type(exc).__name__}: {exc}"
        return f"internal error ({type(exc).__name__}); try again"

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        target_id = kwargs.get(self.target_kwarg, args[0] if args else None)
        if target_id is None:
            return
        logger.error("%s %s: task %s failed for good: %r", self.target_kwarg, target_id, task_id, exc)
        try:
            self.record_failure(target_id, self.failure_reason(exc))
        except RETRYABLE_ERRORS:
            # Database still down: the sweeper (photos) or the page's staleness check deals with it later.
            logger.exception("could not record the failure of %s %s", self.target_kwarg, target_id)
