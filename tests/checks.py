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
