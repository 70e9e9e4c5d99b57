"""Which prediction of a photo counts, and a fingerprint that changes whenever that can change.

Every reader (cards, counts, zooms, eye crops, exports, the session steps) takes its prediction from
`predictions_that_count`, so they never disagree; caches of anything judged from predictions are keyed by
`prediction_fingerprints`.
"""
from __future__ import annotations

from django.db.models import Count, Max, Q, QuerySet

from .models import Prediction


def predictions_that_count(photo_filter: Q) -> QuerySet[Prediction]:
    """The query whose first row per photo is the one that counts: the live model's prediction, else the
    newest (a photo not yet re-run on a new model)."""
    return Prediction.objects.filter(photo_filter).order_by(
        "photo_id", "-model_version__is_live", "-updated_at", "-id")


def prediction_fingerprints(session_ids: list[int]) -> dict[int, tuple]:
    """Per session, numbers that change whenever the prediction that counts can: re-runs bump updated_at,
    new rows raise the count and top id, a promotion changes the live model. One aggregate query."""
    rows = (
        Prediction.objects.filter(photo__session_id__in=session_ids).order_by()
        .values_list("photo__session_id")
        .annotate(n=Count("id"), last=Max("updated_at"), top=Max("id"),
                  live=Max("model_version_id", filter=Q(model_version__is_live=True)),
                  live_n=Count("id", filter=Q(model_version__is_live=True)))
    )
    found = {row[0]: tuple(map(str, row[1:])) for row in rows}
    return {sid: found.get(sid, ()) for sid in session_ids}
