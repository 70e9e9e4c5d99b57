"""Reads other apps make of the analysis: the registered checks and each photo's findings.

Review, learning and galleries judge stored analyses through here (classifier is the app that owns what
the photo task stored and the only one that reads the checks' registry).
"""
from __future__ import annotations

from typing import Any

from ml import detectors

from .findings import EYES, photo_findings, session_strictness, stored_details
from .predictions import prediction_fingerprints, predictions_that_count
from .session_context import contexts_from_details, session_contexts, steps_registered


_described: tuple[tuple, list[dict[str, Any]]] = ((), [])


def checks() -> list[dict[str, Any]]:
    """The registered checks in display order: key, title, level, rejects, schema, words (as JSON). Read
    once per registry state (a card asks for every photo): callers must not change what they get."""
    global _described
    current = detectors.detectors()
    if _described[0] != current:
        _described = (current, detectors.describe())
    return _described[1]


__all__ = ["EYES", "checks", "contexts_from_details", "photo_findings", "prediction_fingerprints", "predictions_that_count", "session_contexts",
           "session_strictness", "steps_registered", "stored_details"]


def gate_findings(version) -> list[str]:
    """What the gate found for a model version, one line per figure (for the promote confirmation)."""
    gate = version.gate or {}
    if not gate:
        return []
    lines = [f"{'passed' if gate.get('passed') else 'refused'}: {gate.get('reason', '')}"]
    if gate.get("report"):
        lines += gate["report"].splitlines()
    else:  # a gate recorded before it stated n and intervals
        for name in ("base", "corrections"):
            live, cand = (gate.get(side, {}).get(name, {}) for side in ("live", "candidate"))
            if cand.get("n"):
                lines.append(f"{name}, n={cand['n']}: live {live.get('accuracy')} -> candidate {cand.get('accuracy')}")
    if gate.get("live_version"):
        lines.append(f"compared with {gate['live_version']}")
    return lines
