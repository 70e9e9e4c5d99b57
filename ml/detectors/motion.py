"""The motion check ("motion"): directional blur on the subject, from camera shake or the subject moving.

The face box at regions.FACE_WIDTH (the main subject's cell when there is no face) is measured along four
directions (ml.sharpness): a smear widens edges along one direction only, defocus along all, so a smear
is flagged only when it is long AND much longer than the defocus. The background (the frame outside the
faces, at BACKGROUND_SIDE) tells camera shake (smeared the same way) from the subject moving (background
sharp, or flat: then it can't tell and says "on the face"), and a panned shot (background smeared, subject
sharp) is not flagged.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ml.detectors import regions
from ml.detectors.base import FaceFinding, Finding, Level, Subject, Words
from ml.detectors.focus import MIN_FACE_PX, face_blur, main_subject_blur, real_blur
from ml.sharpness import measure
from ml.types import clamp_strictness

# Chosen by grouped cross-validation on bench/flags_bench.py (see bench/README.md "Focus, motion, framing").
MOTION_LIMIT = 5.0  # px at face scale (FACE_WIDTH): a longer smear is motion blur
MOTION_OVER_DEFOCUS = 2.5  # ... and it must be this many times the defocus (else it is plain softness)
CHECK_BAND = 0.15
BACKGROUND_SIDE = 256  # px: the frame's long side when measuring the background
SAME_DIRECTION = 30.0  # degrees: a background smear this close to the face's is the same shake


def _strict(strictness: float) -> float:
    """Multiplier on the length limit: 1.5 at 0 (lenient) .. 1 at 0.5 .. 0.67 at 1 (strict)."""
    return 1.5 ** (1.0 - 2.0 * clamp_strictness(strictness))


def _direction(angle: float) -> str:
    a = angle % 180
    if a < 22.5 or a >= 157.5:
        return "horizontal"
    if 67.5 <= a < 112.5:
        return "vertical"
    return "diagonal"


def _background(subject: Subject) -> dict[str, Any] | None:
    small = regions.frame(subject, BACKGROUND_SIDE)
    if small is None:
        return None
    mask = np.ones(small.shape, bool)
    h, w = small.shape
    for face in subject.analysis.faces:  # the faces (and the hair and shoulders around them) are not background
        box = regions.grown(face.box, 0.6)
        mask[int(box.y0 * h):int(np.ceil(box.y1 * h)), int(box.x0 * w):int(np.ceil(box.x1 * w))] = False
    blur = measure(small, mask)
    return {"blur": blur.to_dict(), "frame_px": max(subject.analysis.width, subject.analysis.height),
            "side_px": max(w, h)} if blur else None


def _smeared(blur: Mapping[str, Any], limit: float) -> bool:
    return blur["motion"] >= limit and blur["motion"] >= MOTION_OVER_DEFOCUS * blur["defocus"]


class MotionDetector:
    key = "motion"
    title = "Motion blur"
    level = Level.FACE
    rejects = True
    schema = 1
    words = Words(flagged="Motion blur", clear="Steady", group="Motion blur", flag="Motion blur",
                  not_flag="Not motion blur", key="m", clear_key="j", keyword="Eye Spy|motion blur", label="Red",
                  folder="MOTION")

    def analyse(self, subject: Subject) -> dict[str, Any]:
        faces = [{"is_subject": f.is_subject, "size_px": f.size_px,
                  "blur": face_blur(subject, i) if subject.image is not None and f.size_px >= MIN_FACE_PX else None}
                 for i, f in enumerate(subject.analysis.faces)]
        main = main_subject_blur(subject) if not subject.analysis.faces else None
        return {"schema": self.schema, "faces": faces, "main": main, "background": _background(subject)}

    def judge(self, details: Mapping[str, Any], strictness: float = 0.5,
              context: Mapping[str, Any] | None = None) -> Finding:
        faces = details.get("faces") or []
        measured = [i for i, f in enumerate(faces) if f.get("is_subject", True) and f.get("blur")]
        if measured:
            face_index = max(measured, key=lambda k: faces[k].get("size_px", 0))
            blur, where = real_blur(faces[face_index]["blur"]), "the face"
            px_per_unit = faces[face_index]["size_px"] / regions.FACE_WIDTH
        elif not faces and details.get("main"):
            face_index, blur, where = None, real_blur(details["main"]["blur"]), "the main subject"
            px_per_unit = None
        else:
            why = "no face or detailed region to judge motion on" if not faces else "the face is too small to judge motion on"
            return Finding(key=self.key, applies=False, flagged=False, score=0.0, sentence=why)
        limit = MOTION_LIMIT * _strict(strictness)
        flagged = _smeared(blur, limit)
        near = blur["motion"] >= MOTION_OVER_DEFOCUS * blur["defocus"] and abs(blur["motion"] / limit - 1) < CHECK_BAND
        background = details.get("background")
        bg_blur = background["blur"] if background else None
        # The background's smear in the subject's units (px at face scale), so one limit serves both.
        bg_scale = (background["frame_px"] / background["side_px"] / px_per_unit) if bg_blur and px_per_unit else 1.0
        bg_smeared = bool(bg_blur) and _smeared({**bg_blur, "motion": bg_blur["motion"] * bg_scale,
                                                 "defocus": bg_blur["defocus"] * bg_scale}, limit)
        smear = blur["motion"] * float(blur.get("upscale", 1.0))  # back to the measuring scale for the sentence
        length = f"about {smear * px_per_unit:.0f} px" if px_per_unit else f"{smear:.0f} px at subject scale"
        if flagged:
            turn = abs((blur["angle"] - bg_blur["angle"] + 90) % 180 - 90) if bg_blur else 180
            if bg_smeared and turn <= SAME_DIRECTION:
                sentence = f"camera shake: the whole frame is smeared, {_direction(blur['angle'])}, {length}"
            else:
                sentence = f"motion blur on {where}, {_direction(blur['angle'])}, {length}"
        elif bg_smeared:
            sentence = f"{where} is steady; the background is smeared (a panned shot)"
        else:
            sentence = f"{where} is steady"
        findings = tuple(FaceFinding(index=i, is_subject=bool(f.get("is_subject", True)),
                                     flagged=flagged and i == face_index) for i, f in enumerate(faces))
        return Finding(key=self.key, applies=True, flagged=flagged, score=round(float(blur["motion"]), 3),
                       sentence=sentence, check_reasons=("smear close to the limit",) if near else (),
                       face_index=face_index, faces=findings)


MOTION = MotionDetector()
