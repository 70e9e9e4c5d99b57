"""The framing check ("framing"): headshot rules, a note by default (rejects=False).

Geometry only, from the stored analysis (no pixels): the eye line and the distance between the eyes (IOD)
place the head: brows ~0.4 IOD above the eye line, hairline ~1.2, the top of the skull ~1.9, the chin ~1.8
below (measured on the face detector's boxes of ../shared/data/real). A frame top between the eye line and
the hairline cuts through the forehead (hair cropped above it is fine). Groups (two or more subject faces),
wide and full-length shots (a small head) and photos without a face are not headshots: applies=False,
with a sentence saying why. Strictness moves every limit (stricter: more head room, a higher eye line...).
"""
from __future__ import annotations

import math
from typing import Any, Mapping

from ml.detectors.base import Finding, Level, Subject, Words
from ml.types import clamp_strictness

FOREHEAD = 1.2  # IOD above the eye line the frame must leave (the hairline)
CHIN = 1.8  # IOD below the eye line the frame must leave (the chin)
EYE_LINE = 0.45  # the eye line must sit above this share of the frame height (the "upper ~40 %")
HEAD_SMALL = 0.25  # a head (3.8 IOD tall) under this share of the frame height is small for a headshot
NOT_A_HEADSHOT = 0.10  # ... and under this it is a wide / full-length shot: not judged
TILT = 15.0  # degrees of roll
EDGE = 0.10  # the face box's side margin, in face widths, under which it crowds the edge
HEAD_IODS = 3.8  # skull top to chin, in IODs


def _limits(strictness: float) -> dict[str, float]:
    t = clamp_strictness(strictness) - 0.5  # -0.5 lenient .. +0.5 strict
    return {"forehead": FOREHEAD + 0.4 * t, "chin": CHIN + 0.4 * t, "eye_line": EYE_LINE - 0.1 * t,
            "small": HEAD_SMALL + 0.1 * t, "tilt": TILT - 10 * t, "edge": EDGE + 0.1 * t}


def _geometry(subject: Subject) -> dict[str, Any] | None:
    a = subject.analysis
    subjects = [f for f in a.faces if f.is_subject]
    if not subjects or not a.width or not a.height:
        return None
    face = max(subjects, key=lambda f: f.size_px)
    centres = [((e.box.x0 + e.box.x1) / 2 * a.width, (e.box.y0 + e.box.y1) / 2 * a.height) for e in face.eyes
               if e.box.x1 > e.box.x0]
    if len(centres) != 2:
        return None
    (xa, ya), (xb, yb) = sorted(centres)
    iod = math.hypot(xb - xa, yb - ya)
    if iod <= 0:
        return None
    return {"subjects": len(subjects), "eye_line": round((ya + yb) / 2 / a.height, 4),
            "iod": round(iod / a.height, 4),  # in frame heights
            "roll": round(math.degrees(math.atan2(yb - ya, xb - xa)), 1),
            "left": round(face.box.x0 / max(face.box.x1 - face.box.x0, 1e-6), 3),
            "right": round((1 - face.box.x1) / max(face.box.x1 - face.box.x0, 1e-6), 3)}


class FramingDetector:
    key = "framing"
    title = "Headshot framing"
    level = Level.PHOTO
    rejects = False
    schema = 1
    words = Words(flagged="Framing", clear="Well framed", group="Framing notes", flag="Framing", not_flag="Framing fine",
                  key="t", clear_key="y", keyword="Eye Spy|framing", label="Yellow", folder="FRAMING")

    def analyse(self, subject: Subject) -> dict[str, Any]:
        return {"schema": self.schema, "faces": len(subject.analysis.faces), "geometry": _geometry(subject)}

    def judge(self, details: Mapping[str, Any], strictness: float = 0.5,
              context: Mapping[str, Any] | None = None) -> Finding:
        g = details.get("geometry")
        if not g:
            why = "no face: framing rules are for headshots" if not details.get("faces") else \
                "the main face's eyes were not found: framing not judged"
            return Finding(key=self.key, applies=False, flagged=False, score=0.0, sentence=why)
        if g["subjects"] >= 2:
            return Finding(key=self.key, applies=False, flagged=False, score=0.0,
                           sentence=f"{g['subjects']} people: framing rules are for single headshots")
        head = HEAD_IODS * g["iod"]
        if head < NOT_A_HEADSHOT:
            return Finding(key=self.key, applies=False, flagged=False, score=0.0,
                           sentence=f"a wide or full-length shot (the head is {head:.0%} of the frame height): "
                                    "framing rules are for headshots")
        lim = _limits(strictness)
        reasons = []
        above, below = g["eye_line"] / g["iod"], (1 - g["eye_line"]) / g["iod"]
        if above < lim["forehead"]:
            reasons.append("top of the head cut through the forehead")
        if below < lim["chin"]:
            reasons.append("chin cut")
        if g["eye_line"] > lim["eye_line"]:
            reasons.append(f"eye line at {g['eye_line']:.0%} of the height (below the upper {lim['eye_line']:.0%})")
        if head < lim["small"]:
            reasons.append(f"face small for a headshot (head {head:.0%} of the height)")
        if abs(g["roll"]) > lim["tilt"]:
            reasons.append(f"head tilted {abs(g['roll']):.0f}°")
        for side in ("left", "right"):
            if g[side] < lim["edge"]:
                reasons.append(f"subject crowding the {side} edge")
        sentence = "; ".join(reasons) if reasons else "headshot framing fine"
        return Finding(key=self.key, applies=True, flagged=bool(reasons), score=float(len(reasons)),
                       sentence=sentence[0].upper() + sentence[1:] if reasons else sentence, face_index=None)


FRAMING = FramingDetector()
