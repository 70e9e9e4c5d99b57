"""The checks' registry: each check ("detector") is one module, registered here in display order.

    from ml import detectors
    detectors.detectors()              # every registered check, in order
    detectors.get("blink").judge(details, strictness=0.5)   # -> Finding
    detectors.judge_all(stored, strictness_by_key)          # every check at once

`python -m ml.detectors --json` prints the registry (key, title, level, rejects, schema, words) for other
tools. Cross-photo work (subjects, bursts) goes in ml.detectors.session as a SessionStep.
"""
from __future__ import annotations

from ml.detectors.base import Detector, FaceFinding, Finding, Level, Subject, Words
from ml.detectors.blink import BLINK
from ml.detectors.burst import BURST
from ml.detectors.bursts import BURSTS
from ml.detectors.focus import FOCUS
from ml.detectors.focus_reference import FOCUS_REFERENCE
from ml.detectors.framing import FRAMING
from ml.detectors.motion import MOTION
from ml.detectors.registry import (
    RegistryError,
    analyse_all,
    describe,
    detectors,
    get,
    judge_all,
    register,
    unregister,
)
from ml.detectors.subject_eyes import SUBJECT_EYES
from ml.detectors.subjects import SUBJECTS
from ml.detectors.session import SessionStep, register_step, run_session_steps, session_steps, unregister_step

register(BLINK)
register(FOCUS)
register(MOTION)
register(FRAMING)
register(BURST)
# Subjects first: the subject-eyes, focus-reference and bursts steps read who is who.
register_step(SUBJECTS)
register_step(SUBJECT_EYES)
register_step(FOCUS_REFERENCE)
register_step(BURSTS)

__all__ = [
    "Detector", "FaceFinding", "Finding", "Level", "Subject", "Words", "RegistryError",
    "analyse_all", "describe", "detectors", "get", "judge_all", "register", "unregister",
    "SessionStep", "register_step", "run_session_steps", "session_steps", "unregister_step",
]
