"""Celery tasks of sessions_app (queue `exports`, see CELERY_TASK_ROUTES). Ids in, one service call.

The retry policy is every task's (eyespy_site.task_base): a transient S3 or database error retries the
export instead of failing it. A ZIP of a 600 x 10 MB session can take minutes, so export tasks get their
own time limits instead of the photo tasks' two-minute default.
"""
from __future__ import annotations

import logging

from celery import shared_task

from eyespy_site.task_base import RetryingTask

logger = logging.getLogger(__name__)

EXPORT_SOFT_TIME_LIMIT = 3 * 3600
EXPORT_TIME_LIMIT = EXPORT_SOFT_TIME_LIMIT + 120


class ExportTask(RetryingTask):
    """Marks the export failed when the task gives up, so its page stops saying 'building…'."""

    target_kwarg = "export_id"

    def failure_reason(self, exc: BaseException) -> str:
        return f"the export stopped ({type(exc).__name__}); start it again"

    def record_failure(self, target_id: int, reason: str) -> None:
        from sessions_app.exports import export_fail

        export_fail(export_id=target_id, reason=reason)


@shared_task(base=ExportTask, bind=True, soft_time_limit=EXPORT_SOFT_TIME_LIMIT, time_limit=EXPORT_TIME_LIMIT)
def build_export_task(self, export_id: int) -> None:
    """Build one export into storage. Safe to deliver twice: only the run that claims the row works."""
    from sessions_app.exports import export_run

    export_run(export_id=export_id)


class GalleryPreviewTask(RetryingTask):
    """Gallery previews: a photo that can't be drawn is marked failed by the job itself; a task that gives
    up leaves the rest pending, and the gallery page offers to make them again."""

    target_kwarg = "gallery_id"

    def record_failure(self, target_id: int, reason: str) -> None:
        logger.error("gallery %s previews: %s", target_id, reason)


@shared_task(base=GalleryPreviewTask, bind=True, soft_time_limit=EXPORT_SOFT_TIME_LIMIT, time_limit=EXPORT_TIME_LIMIT)
def build_gallery_previews_task(self, gallery_id: int) -> None:
    """Make a gallery's missing previews (queue `exports`). Idempotent: done photos are skipped."""
    from sessions_app.galleries.previews import gallery_previews_build

    gallery_previews_build(gallery_id=gallery_id)
