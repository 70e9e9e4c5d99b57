"""The focus check ("focus"): the subject's eyes are soft (missed focus).

Measured where a photographer looks: each visible eye of each face, resampled so the eye is
regions.EYE_WIDTH px wide (blur at the eye's scale, whatever the sensor), from the detail image when the
decode kept one. The sharper eye is the focus eye. Hidden eyes: the face instead. No face: the most detailed
cell of the frame (regions.main_subject), never the whole frame, so background blur never counts.

Judging reads `defocus` (ml.sharpness: edge width across any motion smear, so a moving subject is the motion
check's, not called out of focus) against an absolute limit; with a session reference (the session step in
ml.detectors.focus_reference: its sharpest frames of this subject) it judges relative to it, which keeps a
soft lens or a smoothing filter from flagging a whole session, and only a much wider absolute limit
("mush") still applies.
"""
from __future__ import annotations

import weakref
from typing import Any, Mapping

from ml.detectors import regions
from ml.detectors.base import FaceFinding, Finding, Level, Subject, Words
from ml.sharpness import measure
from ml.types import EyeState, clamp_strictness

# Chosen by grouped cross-validation on bench/flags_bench.py (see bench/README.md "Focus, motion, framing").
BLUR_LIMIT = 1.8  # px at eye scale (EYE_WIDTH): an eye blurrier than this is soft, without a session reference
RELATIVE_LIMIT = 0.6  # with a reference: sharper than this share of the session's sharpest frames is fine
MUSH_FACTOR = 1.8  # with a reference, the absolute limit widens by this (a soft-lens session is not all flagged)
CHECK_BAND = 0.15  # within +-15 % of the limit: a person should look
MIN_FACE_PX = 40  # a face narrower than this (original px) is too small to judge focus on


def _strict(strictness: float) -> float:
    """Multiplier on the blur limit: 1.5 at 0 (lenient) .. 1 at 0.5 .. 0.67 at 1 (strict)."""
    return 1.5 ** (1.0 - 2.0 * clamp_strictness(strictness))


def _eye_details(subject: Subject, face_index: int) -> list[dict[str, Any]]:
    analysis = subject.analysis
    out = []
    for eye in analysis.faces[face_index].eyes:
        box_px = (eye.box.x1 - eye.box.x0) * analysis.width
        # The eye's own width: stored, else the box (grown by 0.35 x the eye's width per side) over 1.7.
        eye_px = float(eye.width_px or box_px / 1.7)
        row: dict[str, Any] = {"side": eye.side, "eye_px": round(eye_px, 1),
                               "visible": eye.state is not EyeState.NOT_VISIBLE, "blur": None}
        real_px = eye_px * min(1.0, regions.source_scale(subject))  # px the crop really has
        if row["visible"] and real_px >= regions.MIN_SOURCE_PX and eye_px > 0:
            width = max(16, round(regions.EYE_WIDTH * box_px / eye_px))
            grey = regions.crop(subject, eye.box, width)
            blur = measure(grey) if grey is not None else None
            row["blur"] = _with_upscale(blur.to_dict(), regions.EYE_WIDTH / real_px) if blur else None
        out.append(row)
    return out


_last: dict[str, Any] = {"subject": None, "faces": {}}


def face_blur(subject: Subject, face_index: int) -> dict[str, Any] | None:
    """The face box's blur at FACE_WIDTH. The motion check reads the same measure of the same Subject right
    after this check, so the last Subject's faces are kept (a weak reference: no pixels are held on to)."""
    if _last["subject"] is None or _last["subject"]() is not subject:
        _last.update(subject=weakref.ref(subject), faces={})
    faces = _last["faces"]
    if face_index not in faces:
        faces[face_index] = _face_blur(subject, face_index)
    return faces[face_index]


def _face_blur(subject: Subject, face_index: int) -> dict[str, Any] | None:
    box = subject.analysis.faces[face_index].box
    grey = regions.crop(subject, box, regions.FACE_WIDTH)
    blur = measure(grey) if grey is not None else None
    return _with_upscale(blur.to_dict(), regions.FACE_WIDTH / _real_width(subject, box)) if blur else None


def main_subject_blur(subject: Subject) -> dict[str, Any] | None:
    box = regions.main_subject(subject)
    grey = regions.crop(subject, box, regions.FACE_WIDTH) if box else None
    blur = measure(grey) if grey is not None else None
    if not blur:
        return None
    return {"box": [box.x0, box.y0, box.x1, box.y1],
            "blur": _with_upscale(blur.to_dict(), regions.FACE_WIDTH / _real_width(subject, box))}


def _real_width(subject: Subject, box) -> float:
    """The box's width in px of the image the crop came from."""
    return max(1e-6, (box.x1 - box.x0) * subject.analysis.width * min(1.0, regions.source_scale(subject)))


def _with_upscale(blur: dict[str, Any], upscale: float) -> dict[str, Any]:
    """A crop enlarged to the measuring scale smears its edges by the enlargement: remember it, so judging
    can read the measure per real pixel (`real_blur`) and a small eye is never called soft for being small."""
    return {**blur, "upscale": round(max(1.0, upscale), 3)}


def real_blur(blur: Mapping[str, Any]) -> dict[str, Any]:
    """A stored measure with its widths per real pixel (details before "upscale" was stored read as 1)."""
    scale = float(blur.get("upscale", 1.0))
    return {**blur, "defocus": blur["defocus"] / scale, "motion": blur.get("motion", 0.0) / scale}


def focus_value(details: Mapping[str, Any]) -> tuple[float, str, int | None, str | None] | None:
    """(blur px at eye scale, what it was measured on, face index, the focus eye's side) of the photo's
    main subject, or None when there is nothing to judge. The session step and `judge` share it."""
    faces = details.get("faces") or []
    subjects = [i for i, f in enumerate(faces) if f.get("is_subject", True) and f.get("size_px", 0) >= MIN_FACE_PX]
    if subjects:
        i = max(subjects, key=lambda k: faces[k].get("size_px", 0))
        eyes = [e for e in faces[i].get("eyes") or [] if e.get("blur")]
        if eyes:
            best = min(eyes, key=lambda e: real_blur(e["blur"])["defocus"])
            side = best["side"] if len(eyes) > 1 else None
            return real_blur(best["blur"])["defocus"], "eyes" if len(eyes) > 1 else "eye", i, side
        if faces[i].get("blur"):
            return real_blur(faces[i]["blur"])["defocus"], "face", i, None
        return None
    main = details.get("main")
    if main and main.get("blur"):
        return real_blur(main["blur"])["defocus"], "main subject", None, None
    return None


class FocusDetector:
    key = "focus"
    title = "Soft focus"
    level = Level.FACE
    rejects = True
    schema = 1
    words = Words(flagged="Soft", clear="Sharp", group="Soft focus", flag="Soft", not_flag="Not soft",
                  key="s", clear_key="h", keyword="Eye Spy|soft focus", label="Red", folder="SOFT")

    def analyse(self, subject: Subject) -> dict[str, Any]:
        analysis = subject.analysis
        faces = []
        for i, face in enumerate(analysis.faces):
            row: dict[str, Any] = {"is_subject": face.is_subject, "size_px": face.size_px, "eyes": [], "blur": None}
            if subject.image is not None and face.size_px >= MIN_FACE_PX:
                row["eyes"] = _eye_details(subject, i)
                row["blur"] = face_blur(subject, i)
            faces.append(row)
        main = main_subject_blur(subject) if not analysis.faces else None
        return {"schema": self.schema, "pixels": subject.image is not None, "faces": faces, "main": main}

    def judge(self, details: Mapping[str, Any], strictness: float = 0.5,
              context: Mapping[str, Any] | None = None) -> Finding:
        value = focus_value(details)
        if value is None:
            faces = details.get("faces") or []
            why = ("the face is too small to judge its focus" if faces else
                   "no face and no detailed region: nothing to judge focus on")
            if not details.get("pixels", True):
                why = "focus was not measured (no pixels)"
            return Finding(key=self.key, applies=False, flagged=False, score=0.0, sentence=why)
        blur, where, face_index, side = value
        limit = BLUR_LIMIT * _strict(strictness)
        reference = (context or {}).get("reference")
        sharper = f" ({side} eye sharper)" if side else ""
        subject_word = where
        if reference:
            share = (1.0 / max(blur, 1e-6)) / float(reference)
            relative_cut = RELATIVE_LIMIT / _strict(strictness)
            mush = limit * MUSH_FACTOR
            flagged = share < relative_cut or blur > mush
            near = abs(share / relative_cut - 1) < CHECK_BAND or abs(blur / mush - 1) < CHECK_BAND
            state = "soft" if flagged else "sharp"
            sentence = f"{subject_word} {state}: {share:.2f} of this session's sharpest frames{sharper}"
        else:
            flagged = blur > limit
            near = abs(blur / limit - 1) < CHECK_BAND
            state = "soft" if flagged else "sharp"
            sentence = f"{subject_word} {state}: edges {blur:.1f} px wide at eye scale (limit {limit:.1f}){sharper}"
        faces = tuple(FaceFinding(index=i, is_subject=bool(f.get("is_subject", True)),
                                  flagged=flagged and i == face_index) for i, f in enumerate(details.get("faces") or []))
        return Finding(key=self.key, applies=True, flagged=flagged, score=round(blur, 3), sentence=sentence,
                       check_reasons=("sharpness close to the limit",) if near else (),
                       face_index=face_index, faces=faces)


FOCUS = FocusDetector()
