"""The focus check's session step: each subject's sharpest frames, the reference `focus.judge` compares to.

Missed focus is relative: a soft lens or a smoothing filter softens every frame of a session alike, so each
photo is judged against an upper quantile of its subject's frames (per session when the details carry no
subject id). An upper quantile, not the maximum, so one oddly crisp frame does not make the rest soft, and it
stays among the sharp frames while up to ~1/3 of the session is soft.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ml.detectors.focus import focus_value
from ml.detectors.session import Contexts, PhotoDetails

QUANTILE = 0.8
MIN_FRAMES = 3  # fewer measured frames of a subject: no reference (judged on the absolute limit alone)


class FocusReferenceStep:
    key = "focus_reference"

    def run(self, photos: Mapping[Any, PhotoDetails], contexts: Contexts) -> Contexts:
        groups: dict[Any, list[tuple[Any, float]]] = {}
        for photo_id, by_check in photos.items():
            details = by_check.get("focus")
            value = focus_value(details) if details else None
            if value is None:
                continue
            subject = details.get("subject") or (contexts.get(photo_id, {}).get("focus") or {}).get("subject")
            groups.setdefault(subject, []).append((photo_id, 1.0 / max(value[0], 1e-6)))
        out: Contexts = {}
        for rows in groups.values():
            if len(rows) < MIN_FRAMES:
                continue
            reference = float(np.quantile([s for _, s in rows], QUANTILE))
            for photo_id, _ in rows:
                out[photo_id] = {"focus": {"reference": round(reference, 5)}}
        return out


FOCUS_REFERENCE = FocusReferenceStep()
