"""analyse(photo) -> PhotoAnalysis: faces, per-eye P(closed) and a verdict a photographer reads.

Per photo: decode to the working size (ml.imaging) -> faces and eye landmarks (ml.faces) ->
one aligned crop per eye (ml.eyes) -> the eye CNN (ml.eye_model) -> verdict (ml.verdict).
`analyse_batch` runs the CNN once over the eyes of many photos.
"""
from __future__ import annotations

import io
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Iterable, Union

import numpy as np
from PIL import Image

from ml import eyes as eyes_mod
from ml import faces as faces_mod
from ml import openness as openness_mod
from ml.types import Box, EyeResult, EyeState, FaceResult, PhotoAnalysis, Thresholds
from ml.verdict import eye_state, judgement, subject_flags

if TYPE_CHECKING:
    from ml.eye_model import EyeModel
    from ml.imaging import DecodedImage, ImageError

logger = logging.getLogger(__name__)

ImageInput = Union["DecodedImage", Image.Image, bytes, str, Path, BinaryIO]

# Images whose long side is below this are upscaled (bicubic, integer factor) first: the
# landmark models and the eye crops need some pixels per eye (CEW faces are 100x100).
UPSCALE_BELOW = 400
# A PIL image handed in directly is shrunk to this long side. Note: larger than
# ml.imaging.WORKING_SIDE (1600), which decode() and so the worker use.
MAX_SIDE = 2000
CROP_PNG_SIZE = 64  # eye crop stored for the review screen (same framing as the CNN's crop)
BATCH_PHOTOS = 32  # analyse_batch runs the CNN over this many photos' eyes at a time


@dataclass
class _Prepared:
    """One photo up to (not including) the CNN."""

    width: int  # oriented original size
    height: int
    image_size: tuple[int, int]  # the analysed image (px)
    px_per_original: float  # analysed-image px per original px
    faces: list[faces_mod.Face]
    crops: np.ndarray  # uint8 [k, S, S], one per eye, in face/eye order
    crop_pngs: list[bytes]
    timings: dict[str, float] = field(default_factory=dict)


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000.0, 2)


def _load(image: ImageInput) -> tuple[Image.Image, int, int, float]:
    """(working RGB image, original width, original height, working px per original px)."""
    if isinstance(image, Image.Image):
        img = image if image.mode == "RGB" else image.convert("RGB")
        width, height = img.size
        if max(width, height) > MAX_SIDE:
            factor = MAX_SIDE / max(width, height)
            img = img.resize((max(1, round(width * factor)), max(1, round(height * factor))),
                             Image.Resampling.BILINEAR, reducing_gap=2.0)
        return img, width, height, img.width / width
    if hasattr(image, "original_width") and hasattr(image, "image"):  # ml.imaging.DecodedImage
        img = image.image if image.image.mode == "RGB" else image.image.convert("RGB")
        return img, int(image.original_width), int(image.original_height), img.width / image.original_width
    from ml.imaging import decode  # lazy: only for bytes / paths / files

    decoded = decode(image)
    return _load(decoded)


def upscale_small(img: Image.Image) -> Image.Image:
    """Integer bicubic upscale until the long side reaches UPSCALE_BELOW (training crops use it too)."""
    long_side = max(img.size)
    if long_side >= UPSCALE_BELOW:
        return img
    factor = math.ceil(UPSCALE_BELOW / long_side)
    return img.resize((img.width * factor, img.height * factor), Image.Resampling.BICUBIC)


def _png(gray: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(gray).save(buf, format="PNG")
    return buf.getvalue()


def _prepare(image: ImageInput, crop_size: int) -> _Prepared:
    timings: dict[str, float] = {}
    start = time.perf_counter()
    img, width, height, scale = _load(image)
    timings["decode"] = _ms(start)

    t = time.perf_counter()
    work = upscale_small(img)
    scale *= work.width / img.width
    detections = faces_mod.detect_faces(work)[: faces_mod.MAX_FACES]
    timings["detect"] = _ms(t)

    t = time.perf_counter()
    rgb = np.asarray(work) if detections else None
    found = [faces_mod.face_landmarks(rgb, det) for det in detections]
    timings["landmarks"] = _ms(t)

    t = time.perf_counter()
    crops, pngs = [], []
    if found:
        gray = np.asarray(work.convert("L"))
        for face in found:
            for eye in face.eyes:
                crops.append(eyes_mod.crop_eye(gray, eye.outer, eye.inner, size=crop_size, side=eye.side))
                pngs.append(_png(eyes_mod.crop_eye(gray, eye.outer, eye.inner, size=CROP_PNG_SIZE, side=eye.side)))
    timings["crop"] = _ms(t)
    stacked = np.stack(crops) if crops else np.zeros((0, crop_size, crop_size), np.uint8)
    return _Prepared(width=width, height=height, image_size=work.size, px_per_original=scale, faces=found,
                     crops=stacked, crop_pngs=pngs, timings=timings)


def _box(x0: float, y0: float, x1: float, y1: float, size: tuple[int, int]) -> Box:
    w, h = size

    def clip(v: float) -> float:
        return round(min(1.0, max(0.0, v)), 5)

    return Box(clip(x0 / w), clip(y0 / h), clip(x1 / w), clip(y1 / h))


def _finish(prep: _Prepared, p_closed: np.ndarray, thresholds: Thresholds) -> PhotoAnalysis:
    widths = [f.width for f in prep.faces]
    flags = subject_flags(widths, thresholds)
    results = []
    k = 0
    for face, is_subject in zip(prep.faces, flags):
        eye_results = []
        # Dark glasses (or a hand) over either eye: neither eye of this face is judged.
        covered = any(eyes_mod.eye_covered(prep.crops[k + i]) for i, e in enumerate(face.eyes) if e.visible)
        for eye in face.eyes:
            p = float(p_closed[k])
            png = prep.crop_pngs[k]
            k += 1
            if eye.visible and not covered:
                openness = openness_mod.openness(p, eye.lid_ratio)
                state, p_out = eye_state(1.0 - openness, thresholds), round(p, 4)
            else:
                state, p_out, openness = EyeState.NOT_VISIBLE, 0.0, 0.0
            # Pixels of real detail across the eye: an upscaled small photo adds none.
            width_px = eye.width / max(prep.px_per_original, 1.0)
            eye_results.append(EyeResult(
                side=eye.side, state=state, p_closed=p_out, openness=openness,
                box=_box(*eye.box(), prep.image_size), lid_ratio=round(eye.lid_ratio, 4), crop=png,
                width_px=round(width_px, 1),
            ))
        x0, y0, x1, y1 = face.detection.box
        results.append(FaceResult(
            box=_box(x0, y0, x1, y1, prep.image_size), score=round(face.detection.score, 4),
            size_px=max(1, round(face.width / prep.px_per_original)), is_subject=is_subject,
            eyes=tuple(eye_results), presence=round(face.presence, 4),
        ))
    t = time.perf_counter()
    judged = judgement(results, thresholds)
    timings = dict(prep.timings)
    timings["judge"] = _ms(t)
    return PhotoAnalysis(verdict=judged.verdict, confidence=judged.confidence, reason=judged.reason,
                         faces=tuple(results), width=prep.width, height=prep.height, timings_ms=timings,
                         needs_check=judged.needs_check, check_reasons=judged.check_reasons)


def _model(model: EyeModel | None) -> EyeModel:
    if model is not None:
        return model
    from ml.eye_model import load_model

    return load_model()


def analyse(image: ImageInput, model: EyeModel | None = None, thresholds: Thresholds = Thresholds()) -> PhotoAnalysis:
    """Analyse one photo (decoded image, PIL image, bytes, path or file).

    Raises ml.imaging.ImageError for input that is not a readable image.
    """
    start = time.perf_counter()
    eye_model = _model(model)
    prep = _prepare(image, eye_model.input_size)
    t = time.perf_counter()
    probs = eye_model.predict(prep.crops)
    prep.timings["cnn"] = _ms(t)
    result = _finish(prep, probs, thresholds)
    result.timings_ms["total"] = _ms(start)
    return result


def analyse_batch(
    images: Iterable[ImageInput], model: EyeModel | None = None, thresholds: Thresholds = Thresholds()
) -> list[PhotoAnalysis | ImageError]:
    """Analyse many photos, running the CNN over all their eyes at once (per chunk of photos).

    An unreadable photo yields its ImageError in its place; the others are unaffected.
    """
    from ml.imaging import ImageError

    eye_model = _model(model)
    out: list[PhotoAnalysis | ImageError] = []
    chunk: list[Any] = []
    for image in images:
        chunk.append(image)
        if len(chunk) >= BATCH_PHOTOS:
            out.extend(_analyse_chunk(chunk, eye_model, thresholds, ImageError))
            chunk = []
    if chunk:
        out.extend(_analyse_chunk(chunk, eye_model, thresholds, ImageError))
    return out


def _analyse_chunk(images: list[Any], eye_model: EyeModel, thresholds: Thresholds,
                   image_error: type[Exception]) -> list[Any]:
    prepared: list[_Prepared | Exception] = []
    for image in images:
        try:
            prepared.append(_prepare(image, eye_model.input_size))
        except image_error as exc:
            prepared.append(exc)
        except OSError as exc:  # a missing/unreadable file fails alone, like a corrupt one
            prepared.append(image_error(f"cannot read the file: {exc.strerror or exc}"))
    ok = [p for p in prepared if isinstance(p, _Prepared)]
    all_crops = [p.crops for p in ok if len(p.crops)]
    t = time.perf_counter()
    probs = eye_model.predict(np.concatenate(all_crops)) if all_crops else np.zeros((0,), np.float32)
    cnn_ms = _ms(t)
    total_crops = max(1, len(probs))
    results: list[Any] = []
    offset = 0
    for prep in prepared:
        if not isinstance(prep, _Prepared):
            results.append(prep)
            continue
        n = len(prep.crops)
        prep.timings["cnn"] = round(cnn_ms * n / total_crops, 2)  # this photo's share of the batch
        result = _finish(prep, probs[offset:offset + n], thresholds)
        offset += n
        # Photos of a batch interleave, so a photo's total is the sum of its own stages.
        result.timings_ms["total"] = round(sum(result.timings_ms.values()), 2)
        results.append(result)
    return results
