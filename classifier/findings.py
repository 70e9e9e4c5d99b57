"""Every registered check's stored details for a photo, and its findings at a session's strictness.

The one reader of what the photo task stored per check (`stored_details`) and the one place a session's
sliders become per-check strictness (`session_strictness`): review, exports, galleries and learning go
through `photo_findings` (the outcome of a photo is built on it), never through Prediction.details.

Where details live: the face stage's analysis (ml.analyse: faces, eyes) is Prediction.details itself and
is the eye check's ("blink") details; every other check's details are in details["checks"][key], written
by the photo task. Predictions stored before the registry simply have no other checks: they are not
judged on them (a re-analysis adds them).
"""
from __future__ import annotations

from typing import Any, Mapping

from ml import detectors
from ml.detectors import Finding, Subject
from ml.types import clamp_strictness

EYES = "blink"  # the check whose slider is PhotoSession.strictness, and whose details are the analysis


def analysed_checks(*, analysis, image=None) -> dict[str, dict[str, Any]]:
    """What the photo task stores under details["checks"]: every registered check but the eyes, whose
    details are the analysis itself (stored once, not twice)."""
    stored = detectors.analyse_all(Subject(analysis=analysis, image=image))
    stored.pop(EYES, None)
    return stored


def stored_details(details: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    """Check key -> that check's stored details, from a Prediction's `details` (any schema)."""
    details = details if isinstance(details, Mapping) else {}
    faces = details.get("faces")
    out: dict[str, Mapping[str, Any]] = {
        EYES: {"schema": details.get("schema", 1), "faces": faces if isinstance(faces, list) else []}}
    checks = details.get("checks")
    if isinstance(checks, Mapping):
        # In the registry's order (PostgreSQL's jsonb keeps no key order); checks no longer registered last.
        order = {d.key: i for i, d in enumerate(detectors.detectors())}
        found = sorted(((str(k), v) for k, v in checks.items() if isinstance(v, Mapping) and k != EYES),
                       key=lambda kv: (order.get(kv[0], len(order)), kv[0]))
        out.update(found)
    return out


def session_strictness(session, overrides: Mapping[str, float] | None = None) -> dict[str, float]:
    """Check key -> strictness for this session: the eyes' slider is `session.strictness`, the others
    `session.check_strictness` (0.5 where unset); `overrides` (a slider being dragged) win."""
    values = {d.key: 0.5 for d in detectors.detectors()}
    values.update({str(k): v for k, v in (session.check_strictness or {}).items() if k in values})
    values[EYES] = session.strictness
    values.update(overrides or {})
    return {k: clamp_strictness(v) for k, v in values.items()}


def photo_findings(details: Mapping[str, Any] | None, strictness: Mapping[str, float],
                   context: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Finding]:
    """Every registered check with stored details, judged at its strictness (registration order)."""
    return detectors.judge_all(stored_details(details), strictness, context)
