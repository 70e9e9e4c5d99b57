"""Each check's personal strictness (every check but the eyes, whose fit is `selectors.personal_summary`):
the strictness at which a check agrees best with a photographer's own decisions on its flag.

A decision is a flag correction still in force ("not soft", "too wide") on a photo whose prediction that
counts stored that check's details. Each is re-judged at every strictness of the grid from the stored
details and the photo's session context (ml.detectors `judge`: no pixels, no re-analysis), so the fit is
instant. Nothing changes until the photographer accepts (learning.services.personal_model_accept).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q

from classifier import selectors as classifier_selectors
from classifier.models import Correction
from classifier.selectors import EYES
from review.selectors import flag_stacks, predictions_by_photo
from sessions_app.models import Photo, PhotoSession, User

STRICTNESS_GRID = [round(i / 20, 2) for i in range(21)]


@dataclass(frozen=True)
class CheckSuggestion:
    key: str
    title: str
    decisions: int
    minimum: int
    before: float | None  # agreement at each session's own strictness for this check
    strictness: float | None  # the suggestion (None below the minimum)
    after: float | None

    @property
    def enabled(self) -> bool:
        return self.strictness is not None


@dataclass(frozen=True)
class _FlagDecision:
    session_id: int
    flagged: bool  # the photographer's word
    details: dict
    context: dict | None
    strictness: float  # the session's current strictness for this check


def _flag_decisions(photographer: User, keys: set[str]) -> dict[str, list[_FlagDecision]]:
    corrections = (Correction.objects.filter(photo__session__owner=photographer, photo__status=Photo.Status.DONE,
                                             flag__in=keys).order_by("created_at", "id"))
    active = {pk: stack[-1] for pk, stack in flag_stacks(corrections).items() if stack}
    if not active:
        return {}
    photo_ids = list({photo_id for photo_id, _ in active})
    sessions = {s.id: s for s in PhotoSession.objects.filter(photos__id__in=photo_ids).distinct()}
    photo_sessions = dict(Photo.objects.filter(id__in=photo_ids).values_list("id", "session_id"))
    counted = predictions_by_photo(Q(photo_id__in=photo_ids))
    contexts = {sid: classifier_selectors.session_contexts(sid, strictness=classifier_selectors.session_strictness(s))
                for sid, s in sessions.items()}
    out: dict[str, list[_FlagDecision]] = defaultdict(list)
    for (photo_id, key), decision in active.items():
        prediction = counted.get(photo_id)
        details = classifier_selectors.stored_details(prediction.details if prediction else None).get(key)
        if details is None:
            continue  # analysed before the check existed: nothing to re-judge
        session = sessions[photo_sessions[photo_id]]
        out[key].append(_FlagDecision(
            session.id, decision.decision[1] == Correction.Value.FLAGGED, dict(details),
            contexts[session.id].get(photo_id, {}).get(key),
            classifier_selectors.session_strictness(session)[key]))
    return out


def _rate(key: str, decisions: list[_FlagDecision], strictness: float | None) -> float:
    agree = 0
    for d in decisions:
        value = d.strictness if strictness is None else strictness
        finding = classifier_selectors.photo_findings({"checks": {key: d.details}}, {key: value},
                                                      {key: d.context} if d.context else None).get(key)
        agree += finding is not None and finding.applies and finding.flagged == d.flagged
    return agree / len(decisions)


def check_suggestions(*, photographer: User) -> list[CheckSuggestion]:
    """One suggestion per registered check besides the eyes, in the registry's order."""
    checks = [c for c in classifier_selectors.checks() if c["key"] != EYES]
    if not checks:
        return []
    minimum = settings.EYESPY_PERSONAL_MIN_DECISIONS
    decisions = _flag_decisions(photographer, {c["key"] for c in checks})
    out = []
    for check in checks:
        key, mine = check["key"], decisions.get(check["key"], [])
        before = _rate(key, mine, None) if mine else None
        if len(mine) < minimum:
            out.append(CheckSuggestion(key, check["title"], len(mine), minimum, before, None, None))
            continue
        current = sum(d.strictness for d in mine) / len(mine)
        curve = [(s, _rate(key, mine, s)) for s in STRICTNESS_GRID]
        best, rate = max(curve, key=lambda sr: (round(sr[1], 6), -abs(sr[0] - current)))  # ties: the nearest
        out.append(CheckSuggestion(key, check["title"], len(mine), minimum, before, best, rate))
    return out
