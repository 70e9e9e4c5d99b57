"""Grey crops of a photo's subject at a fixed scale, from the best resolution the decode kept.

Blur is judged at the eye's scale, not the sensor's: every eye crop is resampled so the eye is EYE_WIDTH px
wide, every face so it is FACE_WIDTH px wide. The same photo at 6 or 24 MP (or the same face near or far)
then reads the same, and "soft" means soft at the size a photographer looks at the eye. Crops come from the
detail image when the decode kept one (ml.imaging DETAIL_SIDE), else from the working image.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from ml.detectors.base import Subject
from ml.types import Box

EYE_WIDTH = 48  # px an eye is resampled to
FACE_WIDTH = 192  # px a face box is resampled to (an eye is ~1/4 of it: about the same scale)
MIN_SOURCE_PX = 12  # an eye narrower than this in real pixels has no detail to judge


def _source(subject: Subject) -> tuple[object | None, float]:
    """(what to crop from, its px per original px): the detail image, else the working image."""
    image = subject.image
    if image is None:
        return None, 0.0
    detail = getattr(image, "detail", None)
    if detail is not None:
        return detail, detail.scale
    return image.image, image.scale


def source_scale(subject: Subject) -> float:
    """Px of the image crops come from, per original px (0 when there are no pixels)."""
    return _source(subject)[1]


def crop(subject: Subject, box: Box, width: int) -> np.ndarray | None:
    """The box (fractions of the upright photo) as grey float32, resampled to `width` px wide."""
    source, _ = _source(subject)
    if source is None or box.x1 <= box.x0 or box.y1 <= box.y0:
        return None
    if isinstance(source, Image.Image):
        w, h = source.size
        region = source.crop((round(box.x0 * w), round(box.y0 * h), round(box.x1 * w), round(box.y1 * h)))
    else:  # a DetailImage: it maps the box through the EXIF orientation itself
        region = source.crop(box.x0, box.y0, box.x1, box.y1)
    if region.width < 2 or region.height < 2:
        return None
    height = max(2, round(region.height * width / region.width))
    grey = region.convert("L").resize((width, height), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(grey, dtype=np.float32)


def frame(subject: Subject, long_side: int) -> np.ndarray | None:
    """The whole working image, grey, long side `long_side` (for the background and the main subject)."""
    if subject.image is None:
        return None
    im = subject.image.image
    if max(im.size) >= 2 * long_side:
        im = im.reduce(max(im.size) // long_side)  # a cheap box step before the small resize
    ratio = long_side / max(im.size)
    size = (max(2, round(im.width * ratio)), max(2, round(im.height * ratio)))
    return np.asarray(im.convert("L").resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0), dtype=np.float32)


def grown(box: Box, by: float) -> Box:
    """The box grown by `by` x its size on each side, clipped to the photo."""
    dx, dy = (box.x1 - box.x0) * by, (box.y1 - box.y0) * by
    return Box(max(0.0, box.x0 - dx), max(0.0, box.y0 - dy), min(1.0, box.x1 + dx), min(1.0, box.y1 + dy))


def main_subject(subject: Subject, grid: int = 4) -> Box | None:
    """The most detailed cell of a grid x grid split of the frame (photos without a face): the cell with the
    most gradient energy above the noise. None when the whole frame is flat."""
    from ml.sharpness import noise_level

    small = frame(subject, 512)
    if small is None:
        return None
    noise = noise_level(small)
    gy, gx = np.gradient(small)
    energy = gx * gx + gy * gy
    h, w = energy.shape
    best, best_box = 0.0, None
    for i in range(grid):
        for j in range(grid):
            cell = energy[i * h // grid:(i + 1) * h // grid, j * w // grid:(j + 1) * w // grid]
            detail = float(np.mean(cell)) - 2 * noise * noise  # what noise alone would give
            if detail > best:
                best, best_box = detail, Box(j / grid, i / grid, (j + 1) / grid, (i + 1) / grid)
    return best_box if best > 4.0 else None  # a flat frame: less than ~2 grey levels per px of gradient
