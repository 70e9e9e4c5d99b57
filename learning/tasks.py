"""Celery tasks of the learning loop: thin interfaces over learning.services. Arguments are ids only.

Queue `training`: the only place besides `retrain_model --inline` that loads TensorFlow.

Each keeps the name it had in classifier.tasks (`name=`), so messages already queued, CELERY_TASK_ROUTES
(queue `training`) and the beat schedule still find it.
"""
from __future__ import annotations

from celery import shared_task
from django.conf import settings

from eyespy_site.task_base import RetryingTask

from learning import services


class TrainingTask(RetryingTask):
    """A retrain is long and CPU-bound: it is not retried automatically; a failure is recorded on the run."""

    target_kwarg = "run_id"
    autoretry_for = ()
    # Redelivered after a killed worker: the run is marked failed (see training_run_execute), never re-run.
    reject_on_worker_lost = True

    def failure_reason(self, exc: BaseException) -> str:
        return f"the training task stopped ({type(exc).__name__}: {exc}); the live model was not changed"

    def record_failure(self, target_id: int, reason: str) -> None:
        services.training_run_fail(run_id=target_id, reason=reason)


# The photo tasks' 2-3 minute limits would kill every run: training gets its own (a setting, default 1 h).
TRAINING_SOFT_TIME_LIMIT = settings.EYESPY_TRAINING_TIME_LIMIT
TRAINING_TIME_LIMIT = TRAINING_SOFT_TIME_LIMIT + 120


@shared_task(base=TrainingTask, bind=True, soft_time_limit=TRAINING_SOFT_TIME_LIMIT, time_limit=TRAINING_TIME_LIMIT,
             name="classifier.tasks.retrain_model_task")
def retrain_model_task(self, run_id: int) -> None:
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    services.training_run_execute(run_id=run_id, redelivered=redelivered)


@shared_task(base=TrainingTask, bind=True, soft_time_limit=TRAINING_SOFT_TIME_LIMIT, time_limit=TRAINING_TIME_LIMIT,
             name="classifier.tasks.sync_training_examples_task")
def sync_training_examples_task(self) -> str:
    return str(services.training_examples_sync().to_dict())


@shared_task(acks_late=True, ignore_result=True, name="classifier.tasks.sweep_stale_training_runs_task")
def sweep_stale_training_runs_task() -> int:
    """Periodic (beat): runs whose worker died become failed, with the reason."""
    return services.training_runs_fail_stale()
