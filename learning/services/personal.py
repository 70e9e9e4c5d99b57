"""The personal model: a photographer accepts the strictness fitted to their own decisions, for the eyes
and for each other check.

Nothing changes until they accept. Accepting stores what was accepted (cut-offs and the measured
before/after agreement) and sets that strictness on their sessions, which re-groups every photo at
once from the stored P(closed): no re-analysis.
"""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from classifier.models import PersonalModel
from review.selectors import thresholds_for
from eyespy_site.errors import AppError
from sessions_app import services as sessions_services
from sessions_app.models import User

from .. import selectors


class PersonalModelError(AppError):
    """The suggestion can't be accepted (yet); `reason` is shown as is."""


@transaction.atomic
def personal_model_accept(*, photographer: User) -> PersonalModel:
    """Apply every suggestion there is: the eyes' strictness (when the eyes have enough decisions) and each
    other check's own (`check_fit`), to all of the photographer's sessions."""
    summary = selectors.personal_summary(photographer=photographer)
    checks = {c.key: c for c in selectors.check_suggestions(photographer=photographer) if c.enabled}
    eyes = summary.suggestion if summary.enabled else None
    if eyes is None and not checks:
        raise PersonalModelError(summary.note or "no suggestion yet")
    previous = PersonalModel.objects.filter(photographer=photographer).first()
    defaults = {"decisions": summary.decisions, "accepted_at": timezone.now(),
                "check_strictness": {**(previous.check_strictness if previous else {}),
                                     **{k: {"strictness": c.strictness, "before": c.before, "after": c.after,
                                            "decisions": c.decisions} for k, c in checks.items()}}}
    if eyes is not None:
        defaults.update(strictness=eyes["strictness"], closed=eyes["closed"], partly=eyes["partly"],
                        partly_counts=eyes["partly_counts"], agreement_before=eyes["before"],
                        agreement_after=eyes["after"])
    elif previous is None:  # only other checks so far: the eyes' fields say what stays (the default)
        th = thresholds_for(0.5)
        rate = summary.agreement or 0.0
        defaults.update(strictness=0.5, closed=th.closed, partly=th.partly, partly_counts=th.partly_counts,
                        agreement_before=rate, agreement_after=rate)
    model, _ = PersonalModel.objects.update_or_create(photographer=photographer, defaults=defaults)
    if eyes is not None:
        sessions_services.sessions_set_strictness(owner=photographer, strictness=eyes["strictness"])
    if checks:
        sessions_services.sessions_set_check_strictness(
            owner=photographer, values={k: c.strictness for k, c in checks.items()})
    return model
