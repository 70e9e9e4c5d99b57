"""The personal model: a photographer accepts the strictness fitted to their own decisions.

Nothing changes until they accept. Accepting stores what was accepted (cut-offs and the measured
before/after agreement) and sets that strictness on their sessions, which re-groups every photo at
once from the stored P(closed): no re-analysis.
"""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from classifier.models import PersonalModel
from eyespy_site.errors import AppError
from sessions_app import services as sessions_services
from sessions_app.models import User

from .. import selectors


class PersonalModelError(AppError):
    """The suggestion can't be accepted (yet); `reason` is shown as is."""


@transaction.atomic
def personal_model_accept(*, photographer: User) -> PersonalModel:
    summary = selectors.personal_summary(photographer=photographer)
    if not summary.enabled or summary.suggestion is None:
        raise PersonalModelError(summary.note or "no suggestion yet")
    s = summary.suggestion
    model, _ = PersonalModel.objects.update_or_create(
        photographer=photographer,
        defaults={"strictness": s["strictness"], "closed": s["closed"], "partly": s["partly"],
                  "partly_counts": s["partly_counts"], "decisions": summary.decisions,
                  "agreement_before": s["before"], "agreement_after": s["after"], "accepted_at": timezone.now()},
    )
    sessions_services.sessions_set_strictness(owner=photographer, strictness=s["strictness"])
    return model
