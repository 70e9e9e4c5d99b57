"""Cut one eye out of a face, aligned and scaled so it looks like a CEW eye patch.

The eye-state CNN learns from CEW's 24x24 eye patches, so an eye cut from a photo must be
framed the same way: the crop is rotated so the eye line is level, its side is a fixed
multiple of the eye's corner-to-corner width, and it is shifted from the corners' midpoint
the way the CEW patches are. `CROP_SCALE` / `CROP_SHIFT_*` were calibrated by cutting eyes
from the CEW face images and matching them to the CEW patches of the same eyes (best mean
normalised cross-correlation at 24x24). CEW patches turned out to be literal 24x24 cut-outs
of the 100x100 faces (NCC 0.996 when searched pixel by pixel), about 1.7 eye widths wide,
axis-aligned and a little right of and below the corners' midpoint.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from ml.faces import warp_affine

EYE_CROP_SIZE = 32  # the CNN's input side (ml.eye_model.EyeModel.input_size)

# Calibrated against CEW (see module docstring): crop side = CROP_SCALE x eye width; centre
# moved CROP_SHIFT_X eye widths towards the image right and CROP_SHIFT_Y eye widths down.
CROP_SCALE = 1.75
CROP_SHIFT_X = 0.05
CROP_SHIFT_Y = 0.03

Point = Sequence[float]


def eye_crop_matrix(
    outer_corner: Point,
    inner_corner: Point,
    *,
    size: int = EYE_CROP_SIZE,
    side: str | None = None,
    scale: float = CROP_SCALE,
    shift: tuple[float, float] = (CROP_SHIFT_X, CROP_SHIFT_Y),
) -> np.ndarray:
    """2x3 matrix mapping crop pixels (0..size) to image pixels."""
    outer = np.asarray(outer_corner, dtype=np.float64)[:2]
    inner = np.asarray(inner_corner, dtype=np.float64)[:2]
    # The crop's x axis runs image-left to image-right for an upright face, so neither eye is
    # mirrored. The subject's right eye (image left) runs outer -> inner; the left eye inner -> outer.
    if side == "right":
        axis = inner - outer
    elif side == "left":
        axis = outer - inner
    else:
        axis = inner - outer
        if axis[0] < 0:  # no side given: assume a roughly upright face
            axis = -axis
    width = float(np.hypot(*axis))
    if width < 1e-6:
        width, axis = 1.0, np.array([1.0, 0.0])
    ux = axis / width
    uy = np.array([-ux[1], ux[0]])  # 90 degrees clockwise in y-down coords: "down" on the face
    centre = (outer + inner) / 2 + shift[0] * width * ux + shift[1] * width * uy
    k = scale * width / size
    a = np.stack([ux * k, uy * k], axis=1)
    origin = centre - a @ np.array([size / 2, size / 2])
    return np.hstack([a, origin[:, None]])


def crop_eye(
    gray: np.ndarray,
    outer_corner: Point,
    inner_corner: Point,
    *,
    size: int = EYE_CROP_SIZE,
    side: str | None = None,
) -> np.ndarray:
    """uint8 [size, size] crop of one eye from a grayscale (H, W) uint8 image.

    `side` ("left"/"right", the subject's own) keeps the crop upright for any head roll;
    without it the face is assumed to be roughly upright.
    """
    if gray.ndim != 2:
        raise ValueError(f"crop_eye wants a grayscale (H, W) image, got shape {gray.shape}")
    matrix = eye_crop_matrix(outer_corner, inner_corner, size=size, side=side)
    return warp_affine(gray, matrix, (size, size), border="edge")


def ncc(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised cross-correlation of two same-sized images (1 = identical up to gain/offset)."""
    x = a.astype(np.float64).ravel()
    y = b.astype(np.float64).ravel()
    x -= x.mean()
    y -= y.mean()
    denom = math.sqrt(float(x @ x) * float(y @ y))
    return float(x @ y) / denom if denom > 0 else 0.0


# An eye behind dark glasses (or a hand, hair): the middle of the crop, where lid, lashes and iris
# should be, is flat while the surround is not. Set so that no CEW eye (open or closed, dev split)
# falls below both: their lowest 0.1 % sit at ratio 0.16-0.24 (MODEL_CARD.md, failure classes).
COVERED_RATIO = 0.12  # std of the central ellipse / std of the whole crop
COVERED_STD = 4.0  # and the central ellipse's own std (gray levels)


def eye_covered(crop: np.ndarray) -> bool:
    """True when a CNN crop shows no eye detail in its middle (dark glasses, a hand), see COVERED_*."""
    x = np.asarray(crop, dtype=np.float32)
    size = x.shape[-1]
    yy, xx = np.mgrid[0:size, 0:size]
    c = (size - 1) / 2
    inside = ((xx - c) / (0.30 * size)) ** 2 + ((yy - c) / (0.18 * size)) ** 2 <= 1.0
    centre = float(x[inside].std())
    whole = float(x.std())
    return centre < COVERED_STD and centre < COVERED_RATIO * max(whole, 1e-3)
