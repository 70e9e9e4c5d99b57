"""The registry of checks: registration order is display order (review groups, CSV columns, keys).

Adding a check = one module with a Detector + one `register(...)` line in ml/detectors/__init__.py.
Everything downstream (analysis, review, counts, exports) iterates `detectors()`.
"""
from __future__ import annotations

from typing import Any, Mapping

from ml.detectors.base import Detector, Finding, Subject

_REGISTRY: dict[str, Detector] = {}


class RegistryError(ValueError):
    """A detector that can't be registered (duplicate key, clashing keyboard key, missing parts)."""


def register(detector: Detector) -> Detector:
    if not isinstance(detector, Detector):
        raise RegistryError(f"{detector!r} is not a Detector (key, title, level, rejects, schema, words, "
                            "analyse, judge)")
    if detector.key in _REGISTRY:
        raise RegistryError(f"a check with key {detector.key!r} is registered already")
    taken = {k for d in _REGISTRY.values() for k in (d.words.key, d.words.clear_key)}
    clash = {detector.words.key, detector.words.clear_key} & taken
    if clash:
        raise RegistryError(f"check {detector.key!r}: keyboard key(s) {sorted(clash)} are taken")
    _REGISTRY[detector.key] = detector
    return detector


def unregister(key: str) -> None:
    """Take a check out again (tests that register a check of their own)."""
    _REGISTRY.pop(key, None)


def detectors() -> tuple[Detector, ...]:
    return tuple(_REGISTRY.values())


def get(key: str) -> Detector:
    try:
        return _REGISTRY[key]
    except KeyError:
        raise KeyError(f"no check {key!r}; registered: {', '.join(_REGISTRY) or 'none'}") from None


def describe() -> list[dict[str, Any]]:
    """The registry as JSON-ready objects (what `python -m ml.detectors --json` prints)."""
    return [{"key": d.key, "title": d.title, "level": d.level.value, "rejects": d.rejects, "schema": d.schema,
             "words": vars(d.words).copy()} for d in detectors()]


def analyse_all(subject: Subject) -> dict[str, dict[str, Any]]:
    """Every check's details for one photo, by key."""
    return {d.key: d.analyse(subject) for d in detectors()}


def judge_all(details: Mapping[str, Mapping[str, Any]], strictness: Mapping[str, float] | None = None,
              context: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Finding]:
    """Every check with stored details, judged at its own strictness (0.5 where none is given)."""
    strictness, context = strictness or {}, context or {}
    return {d.key: d.judge(details[d.key], strictness.get(d.key, 0.5), context.get(d.key))
            for d in detectors() if d.key in details}
