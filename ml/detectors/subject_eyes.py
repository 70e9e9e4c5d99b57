"""The subject-eyes step: each subject's usual eye opening in this session, which the eye check compares to.

Judged alone, a squint looks like a small open eye; what marks it is the eye being much less open than this
person's eyes in the rest of the session. Per subject and per eye (left, right), the usual opening
(ml.verdict.opening: openness x lid ratio) is an
upper quantile of the frames where that eye is confidently open (the eye stage's own P(closed) under 0.5):
an upper quantile, not the median, so it stays on the open frames while a third of the frames are blinks or
squints. It starts once a subject has MIN_FRAMES frames; before that the photo-alone rule stands. A subject
whose eyes are always narrow has a narrow usual opening, so they are not flagged for it.

Reads the burst check's stored per-eye openness and the subjects step's context; gives "blink":
{"faces": [{"subject", "name", "usual": {side: opening}, "frames"} or None per stored face]}.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ml.detectors.session import Contexts, PhotoDetails
from ml.verdict import opening

QUANTILE = 0.75
MIN_FRAMES = 8  # a subject's frames before their own eyes count
MIN_OPEN = 4  # confidently open frames of an eye needed for its usual opening
CONFIDENT_OPEN = 0.5  # P(closed) under this: the eye stage is sure enough the eye is open


def usual_openings(photos: Mapping[Any, PhotoDetails], contexts: Contexts) -> dict[int, dict[str, Any]]:
    """Subject number -> {"frames": n, "usual": {side: opening}} for subjects with MIN_FRAMES frames."""
    frames: dict[int, int] = {}
    values: dict[int, dict[str, list[float]]] = {}
    for photo_id, by_check in photos.items():
        labels = (contexts.get(photo_id, {}).get("burst") or {}).get("subjects") or []
        faces = (by_check.get("burst") or {}).get("faces") or []
        for face, subject in zip(faces, labels):
            if subject is None:
                continue
            frames[subject] = frames.get(subject, 0) + 1
            for eye in face.get("eyes") or []:
                if eye.get("visible") and float(eye.get("p_closed", 1.0)) < CONFIDENT_OPEN:
                    values.setdefault(subject, {}).setdefault(eye["side"], []).append(opening(eye))
    out = {}
    for subject, n in frames.items():
        if n < MIN_FRAMES:
            continue
        usual = {side: round(float(np.quantile(v, QUANTILE)), 4)
                 for side, v in sorted(values.get(subject, {}).items()) if len(v) >= MIN_OPEN}
        if usual:
            out[subject] = {"frames": n, "usual": usual}
    return out


class SubjectEyesStep:
    key = "subject_eyes"

    def run(self, photos: Mapping[Any, PhotoDetails], contexts: Contexts) -> Contexts:
        known = usual_openings(photos, contexts)
        if not known:
            return {}
        out: Contexts = {}
        for photo_id in photos:
            labels = (contexts.get(photo_id, {}).get("burst") or {}).get("subjects") or []
            faces = [dict(known[s], subject=s, name=f"Subject {s}") if s in known else None for s in labels]
            if any(faces):
                out[photo_id] = {"blink": {"faces": faces}}
        return out


SUBJECT_EYES = SubjectEyesStep()
