"""Celery tasks of sessions_app (queue `exports`, see CELERY_TASK_ROUTES). Ids in, one service call.

A ZIP of a 600 x 10 MB session can take minutes, so export tasks get their own time limits instead of the
photo tasks' two-minute default.
"""
from __future__ import annotations

import logging

from celery import Task, shared_task
from django.db import InterfaceError, OperationalError

logger = logging.getLogger(__name__)

TRANSIENT_ERRORS = (OperationalError, InterfaceError, ConnectionError, TimeoutError)
EXPORT_SOFT_TIME_LIMIT = 3 * 3600
EXPORT_TIME_LIMIT = EXPORT_SOFT_TIME_LIMIT + 120


class ExportTask(Task):
    """Marks the export failed when the task gives up, so its page stops saying 'building…'."""

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        from sessions_app.exports import export_fail

        export_id = kwargs.get("export_id", args[0] if args else None)
        if export_id is None:
            return
        logger.error("export %s: task %s failed for good: %r", export_id, task_id, exc)
        try:
            export_fail(export_id=export_id, reason=f"the export stopped ({type(exc).__name__}); start it again")
        except TRANSIENT_ERRORS:
            logger.exception("could not record the failure of export %s", export_id)


@shared_task(
    base=ExportTask,
    bind=True,
    acks_late=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=2,
    retry_backoff_max=60,
    max_retries=3,
    soft_time_limit=EXPORT_SOFT_TIME_LIMIT,
    time_limit=EXPORT_TIME_LIMIT,
)
def build_export_task(self, export_id: int) -> None:
    """Build one export into storage. Safe to deliver twice: only the run that claims the row works."""
    from sessions_app.exports import export_run

    export_run(export_id=export_id)
