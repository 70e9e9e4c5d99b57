"""Photo intake: sessions_app checks and stores a file, this module queues the new photo for the worker.

The upload view and `manage.py import_session` come through here; sessions_app itself never sends work to
a worker (it imports no app above it). Queueing happens after the commit and survives a broker that is
down (`robust=True`; `photos_enqueue` then marks the photo unsent for the unsent sender to re-send).
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from django.db import transaction

from sessions_app import services as sessions_services
from sessions_app.models import Photo, PhotoSession

from . import processing


def _enqueue_after_commit(photo: Photo) -> None:
    photo_id = photo.id
    # Looked up on the module at send time (tests stand in for the broker there).
    transaction.on_commit(lambda: processing.photos_enqueue(photo_ids=[photo_id]), robust=True)


def photo_upload(*, session: PhotoSession, fileobj: BinaryIO, filename: str) -> sessions_services.UploadResult:
    """Check and store one uploaded file (sessions_app.services.photo_store), then queue it after the commit.

    A duplicate (the same bytes already in the session) is not queued again, nor is the second file of a
    RAW + JPEG pair whose photo still waits for its worker (that run reads both). Raises
    sessions_app.services.UploadRejected with a reason the photographer reads.
    """
    result = sessions_services.photo_store(session=session, fileobj=fileobj, filename=filename)
    if _needs_queueing(result):
        _enqueue_after_commit(result.photo)
    return result


def photo_upload_direct(*, session: PhotoSession, ticket: str) -> sessions_services.UploadResult:
    """Record a file the browser sent straight to the bucket (sessions_app.services.direct_upload_finish), then
    queue it after the commit, like `photo_upload`."""
    result = sessions_services.direct_upload_finish(session=session, ticket=ticket)
    if _needs_queueing(result):
        _enqueue_after_commit(result.photo)
    return result


def _needs_queueing(result: sessions_services.UploadResult) -> bool:
    return not result.duplicate and (not result.paired or result.requeued)


def photos_import_paths(
    *, session: PhotoSession, paths: Iterable[str | os.PathLike], enqueue: bool = True
) -> Iterator[sessions_services.ImportOutcome]:
    """Store files from disk (sessions_app.services.photos_store_paths), queueing each imported photo unless
    `enqueue` is False (`import_session --inline` analyses them in its own process). One outcome per file."""
    for outcome in sessions_services.photos_store_paths(session=session, paths=paths):
        if enqueue and outcome.result is not None and _needs_queueing(outcome.result):
            _enqueue_after_commit(outcome.photo)
        yield outcome


def photos_requeue_failed(*, session: PhotoSession) -> int:
    """Re-run the session's failed photos (the "Re-run failed" button). Returns how many were queued."""
    return processing.photos_requeue(photos_qs=session.photos.filter(status=Photo.Status.FAILED))
