"""Celery tasks of the galleries: making a gallery's previews (queue `exports`). Ids in, one service call.

`build_gallery_previews_task` keeps the name it had in sessions_app.tasks (`name=`), so queued messages and
the `sessions_app.tasks.*` route (queue `exports`) still reach it. The retry policy is every task's
(eyespy_site.task_base).
"""
from __future__ import annotations

import logging

from celery import shared_task

from eyespy_site.task_base import RetryingTask

logger = logging.getLogger(__name__)

# A 600-photo gallery's previews can take as long as a big export: the same limits as the export task.
PREVIEWS_SOFT_TIME_LIMIT = 3 * 3600
PREVIEWS_TIME_LIMIT = PREVIEWS_SOFT_TIME_LIMIT + 120


class GalleryPreviewTask(RetryingTask):
    """Gallery previews: a photo that can't be drawn is marked failed by the job itself; a task that gives
    up leaves the rest pending, and the gallery page offers to make them again."""

    target_kwarg = "gallery_id"

    def record_failure(self, target_id: int, reason: str) -> None:
        logger.error("gallery %s previews: %s", target_id, reason)


@shared_task(base=GalleryPreviewTask, bind=True, soft_time_limit=PREVIEWS_SOFT_TIME_LIMIT,
             time_limit=PREVIEWS_TIME_LIMIT, name="sessions_app.tasks.build_gallery_previews_task")
def build_gallery_previews_task(self, gallery_id: int) -> None:
    """Make a gallery's missing previews (queue `exports`). Idempotent: done photos are skipped."""
    from galleries.previews import gallery_previews_build

    gallery_previews_build(gallery_id=gallery_id)
