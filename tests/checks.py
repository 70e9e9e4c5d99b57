"""A test-only check for the registry's tests: "Wide frame" rejects a photo much wider than it is tall.

Registered by the tests that need it (`wide_check` fixtures via `registered`), never by the app: it proves
that a check is one module plus its registration and shows up everywhere with no other file changed.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ml import detectors
from ml.detectors import Finding, Level, Subject, Words

WIDE_WORDS = Words(flagged="Too wide", clear="Fine frame", group="Wide frames", flag="Too wide",
                   not_flag="Not too wide", key="w", clear_key="shift+w", keyword="Eye Spy|wide frame", label="Yellow")


@dataclass
class WideFrameCheck:
    key: str = "wide"
    title: str = "Wide frame"
    level: Level = Level.PHOTO
    rejects: bool = True
    schema: int = 1
    words: Words = WIDE_WORDS

    def analyse(self, subject: Subject) -> dict:
        return {"schema": self.schema, "aspect": round(subject.analysis.width / subject.analysis.height, 3),
                "pixels_seen": subject.image is not None}

    def judge(self, details, strictness=0.5, context=None) -> Finding:
        limit = 1.7 - 0.4 * strictness  # stricter: a narrower frame is already too wide
        aspect = details["aspect"]
        return Finding(key=self.key, applies=True, flagged=aspect > limit, score=aspect,
                       sentence=f"{aspect:.2f} wide for 1 tall (limit {limit:.2f})",
                       check_reasons=("close to the limit",) if abs(aspect - limit) < 0.05 else ())


@contextmanager
def registered(check) -> Iterator:
    detectors.register(check)
    try:
        yield check
    finally:
        detectors.unregister(check.key)


@dataclass
class WidestCheck:
    """Session-relative: rejects the widest frame of its session (as the session step saw it). Alone (no
    context) it judges nothing: like focus against the session's sharpest frames, it needs the session."""

    key: str = "widest"
    title: str = "Widest frame"
    level: Level = Level.PHOTO
    rejects: bool = True
    schema: int = 1
    words: Words = Words(flagged="Widest", clear="Not the widest", group="Widest", flag="Widest",
                         not_flag="Not the widest", key="v", clear_key="shift+v", keyword="Eye Spy|widest",
                         label="Yellow")

    def analyse(self, subject: Subject) -> dict:
        return {"schema": self.schema, "aspect": round(subject.analysis.width / subject.analysis.height, 3)}

    def judge(self, details, strictness=0.5, context=None) -> Finding:
        if not context:
            return Finding(key=self.key, applies=False, flagged=False, score=0.0, sentence="no session yet")
        widest = context["widest"]
        return Finding(key=self.key, applies=True, flagged=details["aspect"] >= widest, score=details["aspect"],
                       sentence=f"{details['aspect']:.2f} of the session's widest {widest:.2f}")


@dataclass
class WidestStep:
    """The session step for WidestCheck: the widest aspect among the session's stored details."""

    key: str = "widest-step"
    fail: bool = False  # a step with a bug: the photos must then be judged alone

    def run(self, photos, contexts):
        if self.fail:
            raise RuntimeError("a bug in a session step")
        aspects = {pid: d["widest"]["aspect"] for pid, d in photos.items() if "widest" in d}
        widest = max(aspects.values(), default=0.0)
        return {pid: {"widest": {"widest": widest}} for pid in aspects}


@contextmanager
def registered_step(step) -> Iterator:
    detectors.register_step(step)
    try:
        yield step
    finally:
        detectors.unregister_step(step.key)
