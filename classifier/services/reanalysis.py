"""Re-analyse chosen sessions with the live model, in the background, with progress.

A job re-queues the session's photos through `photos_requeue` (the worker's normal path: claim, analyse,
upsert the live model's Prediction). Older predictions stay, so the review can say how many verdicts the
new model changed; corrections are never touched. Progress is counted, not stored: photos of the session
that have a prediction by the job's model version.
"""
from __future__ import annotations

import logging

from django.db import transaction

from sessions_app.models import Photo, PhotoSession, User

from ..models import ReanalysisJob
from .model_versions import live_model_version
from .processing import photos_requeue

logger = logging.getLogger(__name__)


@transaction.atomic
def session_reanalyse(*, session: PhotoSession, by: User | None) -> ReanalysisJob:
    """Queue every photo of `session` that the live model has not analysed yet (done or failed ones)."""
    live = live_model_version()
    todo = session.photos.filter(status__in=[Photo.Status.DONE, Photo.Status.FAILED]).exclude(
        predictions__model_version=live)
    total = session.photos.count()
    job = ReanalysisJob.objects.create(session=session, model_version=live, requested_by=by, total=total)
    queued = photos_requeue(photos_qs=todo)
    logger.info("re-analysing session %s with %s: %d of %d photo(s) queued", session.pk, live.name, queued, total)
    return job
