"""The session step's place: checks that need the whole session (subjects, a subject's usual eye opening,
bursts and their best frame) read every photo's stored details and give each photo a context per check.

A session step never re-analyses a photo: `run` gets the stored details (by photo id, by check key) and
returns, by photo id, a context for each check it informs, which `Detector.judge(..., context=...)` then
reads. Steps run in registration order; a later step sees the contexts of earlier ones (say, bursts
after subjects). The web app (classifier.session_context) runs the steps over the predictions that count
and caches the contexts under a fingerprint of them, so each photo that arrives or is re-run updates the
whole session's judgement on the next read, without re-analysing anything. Steps must be deterministic
(same details in, same contexts out) and cheap: milliseconds for a 600-photo session.
"""
from __future__ import annotations

from typing import Any, Mapping, Protocol, runtime_checkable

PhotoDetails = Mapping[str, Mapping[str, Any]]  # check key -> that check's stored details
Contexts = dict[Any, dict[str, dict[str, Any]]]  # photo id -> check key -> context


@runtime_checkable
class SessionStep(Protocol):
    key: str

    def run(self, photos: Mapping[Any, PhotoDetails], contexts: Contexts) -> Contexts:
        """Contexts to add, by photo id then check key (merged over what earlier steps gave)."""


_STEPS: dict[str, SessionStep] = {}


def register_step(step: SessionStep) -> SessionStep:
    if not isinstance(step, SessionStep):
        raise ValueError(f"{step!r} is not a SessionStep (key, run)")
    if step.key in _STEPS:
        raise ValueError(f"a session step with key {step.key!r} is registered already")
    _STEPS[step.key] = step
    return step


def unregister_step(key: str) -> None:
    _STEPS.pop(key, None)


def session_steps() -> tuple[SessionStep, ...]:
    return tuple(_STEPS.values())


def run_session_steps(photos: Mapping[Any, PhotoDetails], strictness: Mapping[str, float] | None = None,
                      names: Mapping[Any, str] | None = None) -> Contexts:
    """Every registered step over one session's stored details: the contexts by photo id, then check key.

    `strictness`: the session's sliders (check key -> 0..1); `names`: photo id -> file name. A step with a
    `configured(strictness, names)` method (bursts: its slider is the grouping sensitivity, and an alternate
    names its best frame) runs as that returns it."""
    contexts: Contexts = {}
    for step in session_steps():
        if (strictness is not None or names) and hasattr(step, "configured"):
            step = step.configured(strictness or {}, names)
        for photo_id, by_check in step.run(photos, contexts).items():
            for key, context in by_check.items():
                contexts.setdefault(photo_id, {}).setdefault(key, {}).update(context)
    return contexts
