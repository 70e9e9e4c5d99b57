"""Celery tasks of the review: building exports (queue `exports`, see CELERY_TASK_ROUTES). Ids in, one service call.

`build_export_task` keeps the name it had in sessions_app.tasks (`name=`), so queued messages and the
`sessions_app.tasks.*` route still reach it.

The retry policy is every task's (eyespy_site.task_base): a transient S3 or database error retries the
export instead of failing it. A ZIP of a 600 x 10 MB session can take minutes, so export tasks get their
own time limits instead of the photo tasks' two-minute default.
"""
from __future__ import annotations

from celery import shared_task

from eyespy_site.task_base import RetryingTask

EXPORT_SOFT_TIME_LIMIT = 3 * 3600
EXPORT_TIME_LIMIT = EXPORT_SOFT_TIME_LIMIT + 120


class ExportTask(RetryingTask):
    """Marks the export failed when the task gives up, so its page stops saying 'building…'."""

    target_kwarg = "export_id"

    def failure_reason(self, exc: BaseException) -> str:
        return f"the export stopped ({type(exc).__name__}); start it again"

    def record_failure(self, target_id: int, reason: str) -> None:
        from review.exports import export_fail

        export_fail(export_id=target_id, reason=reason)


@shared_task(base=ExportTask, bind=True, soft_time_limit=EXPORT_SOFT_TIME_LIMIT, time_limit=EXPORT_TIME_LIMIT,
             name="sessions_app.tasks.build_export_task")
def build_export_task(self, export_id: int) -> None:
    """Build one export into storage. Safe to deliver twice: only the run that claims the row works."""
    from review.exports import export_run

    export_run(export_id=export_id)
