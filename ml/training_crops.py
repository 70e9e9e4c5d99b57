"""Eye crops for training, cut from a photo by the same pipeline the worker runs, at the CNN's input size.

The worker stores per-eye P(closed) and a 64-px review crop; training needs the exact crop the model
consumes (ml.eyes at `INPUT_SIZE`). `cut_eye_crops` re-runs the face and landmark steps of
`ml.analysis` on the same decoded image (no CNN) and returns each face's visible eyes; `match_face`
finds the face a stored prediction means (by box overlap), so a correction of "face 2" labels the
right pixels even if a pipeline change reorders faces.

Pure: numpy + the face models through LiteRT. No TensorFlow, no Django.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from ml.cnn import INPUT_SIZE
from ml.types import Box


@dataclass(frozen=True)
class EyeCrop:
    side: str  # the subject's own "left" / "right"
    visible: bool
    pixels: np.ndarray  # uint8 [S, S]


@dataclass(frozen=True)
class FaceCrops:
    box: Box  # in fractions of the analysed image, like FaceResult.box
    eyes: tuple[EyeCrop, ...]


def cut_eye_crops(image: Any, *, size: int = INPUT_SIZE) -> list[FaceCrops]:
    """Every face found in `image` (a DecodedImage, PIL image, bytes or path) with its eye crops."""
    from ml.analysis import _box, _prepare

    prep = _prepare(image, size)
    out: list[FaceCrops] = []
    k = 0
    for face in prep.faces:
        eyes = []
        for eye in face.eyes:
            eyes.append(EyeCrop(side=eye.side, visible=bool(eye.visible), pixels=prep.crops[k]))
            k += 1
        x0, y0, x1, y1 = face.detection.box
        out.append(FaceCrops(box=_box(x0, y0, x1, y1, prep.image_size), eyes=tuple(eyes)))
    return out


def _as_box(value: Box | Mapping[str, Any] | None) -> Box | None:
    if value is None:
        return None
    if isinstance(value, Box):
        return value
    try:
        return Box(*(float(value[k]) for k in ("x0", "y0", "x1", "y1")))
    except (KeyError, TypeError, ValueError):
        return None


def box_iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a.x1, b.x1) - max(a.x0, b.x0))
    iy = max(0.0, min(a.y1, b.y1) - max(a.y0, b.y0))
    inter = ix * iy
    union = (a.x1 - a.x0) * (a.y1 - a.y0) + (b.x1 - b.x0) * (b.y1 - b.y0) - inter
    return inter / union if union > 0 else 0.0


def match_face(stored_box: Box | Mapping[str, Any] | None, found: Sequence[FaceCrops], *,
               min_iou: float = 0.5) -> FaceCrops | None:
    """The found face that best overlaps the stored one (None below `min_iou`: never a guess)."""
    box = _as_box(stored_box)
    if box is None or not found:
        return None
    best = max(found, key=lambda f: box_iou(box, f.box))
    return best if box_iou(box, best.box) >= min_iou else None
