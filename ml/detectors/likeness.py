"""Small descriptors that say whether two photos (or two faces) look alike, and how alike.

Measured once per photo in the photo task (`frame_descriptor`, `face_descriptor`: about a millisecond), stored
as compact hex in the "burst" check's details, and compared many times by the session steps
(`frame_likeness`, `face_likeness`, `pose_distance`) without the pixels.

- The frame: a 16x16 grey thumbnail, zero-mean and unit-variance (so an exposure change does not read as a
  new scene), plus a 64-bit dHash for tools that want one.
- A face: a 24x24 grey crop aligned on the eyes (rotated so the eye line is level, scaled so the eyes are a
  fixed distance apart), normalised the same way: who it is and, in part, the expression. Plus pose numbers
  read from the face box and the eye boxes: the eye line's angle (head tilt), where the eyes sit in the face
  box (turn and nod), the eye distance over the face width (turn), and the face's place and size in the frame.
"""
from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
from PIL import Image

THUMB = 16  # frame thumbnail side
FACE_CROP = 24  # aligned face crop side
# The aligned crop: the eye midpoint at (0.5, EYE_ROW) of the crop; the eyes EYE_SPAN of its width apart.
EYE_ROW = 0.36
EYE_SPAN = 0.42


def _pack(values: np.ndarray) -> str:
    """Zero-mean unit-variance values as one hex byte each (z * 40 + 128, clipped): 1/40 sd steps."""
    return np.clip(np.round(values * 40.0 + 128.0), 0, 255).astype(np.uint8).tobytes().hex()


def unpack(text: str) -> np.ndarray:
    """What `_pack` wrote, back as a unit-length float vector (a dot product is then a correlation)."""
    v = (np.frombuffer(bytes.fromhex(text), dtype=np.uint8).astype(np.float32) - 128.0)
    v -= v.mean()
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v


def _normalised(grey: np.ndarray) -> np.ndarray:
    grey = grey.astype(np.float32).ravel()
    sd = float(grey.std())
    return (grey - grey.mean()) / sd if sd > 1e-3 else grey * 0.0


def _small(image: Image.Image, long_side: int) -> Image.Image:
    """A cheap box step first: resizing straight from 1600 px costs more than the rest together."""
    if max(image.size) >= 4 * long_side:
        image = image.reduce(max(image.size) // (2 * long_side))
    return image


def frame_descriptor(image: Image.Image) -> dict[str, str]:
    """{"thumb": 16x16 normalised grey, hex; "dhash": 64-bit difference hash, hex} of the whole frame."""
    grey = _small(image, 64).convert("L")
    thumb = np.asarray(grey.resize((THUMB, THUMB), Image.Resampling.BILINEAR, reducing_gap=2.0), np.float32)
    small = np.asarray(grey.resize((9, 8), Image.Resampling.BILINEAR, reducing_gap=2.0), np.int16)
    bits = (small[:, 1:] > small[:, :-1]).ravel()
    dhash = int("".join("1" if b else "0" for b in bits), 2)
    return {"thumb": _pack(_normalised(thumb)), "dhash": f"{dhash:016x}"}


def _centre(box: Any, width: int, height: int) -> tuple[float, float]:
    return (box.x0 + box.x1) / 2 * width, (box.y0 + box.y1) / 2 * height


def face_pose(face: Any, width: int, height: int) -> dict[str, float] | None:
    """Pose numbers of one face (a ml.types.FaceResult) in a `width` x `height` frame; None without two eyes."""
    eyes = {e.side: e for e in face.eyes}
    if "left" not in eyes or "right" not in eyes or width <= 0 or height <= 0:
        return None
    box = face.box
    fw, fh = (box.x1 - box.x0) * width, (box.y1 - box.y0) * height
    if fw <= 1 or fh <= 1:
        return None
    # The subject's right eye is on the image's left: the eye line runs from it to the subject's left eye.
    (rx, ry), (lx, ly) = _centre(eyes["right"].box, width, height), _centre(eyes["left"].box, width, height)
    dx, dy = lx - rx, ly - ry
    distance = math.hypot(dx, dy)
    mx, my = (lx + rx) / 2, (ly + ry) / 2
    return {
        "roll": round(math.degrees(math.atan2(dy, dx)), 2),  # head tilt, degrees
        "eye_x": round((mx - box.x0 * width) / fw, 4),  # eye midpoint across the face box: head turn
        "eye_y": round((my - box.y0 * height) / fh, 4),  # and down it: nod
        "span": round(distance / fw, 4),  # eye distance / face width: smaller when the head turns
        "cx": round((box.x0 + box.x1) / 2, 4), "cy": round((box.y0 + box.y1) / 2, 4),  # place in the frame
        "size": round(box.x1 - box.x0, 4),  # face width / frame width
    }


def face_crop(image: Image.Image, face: Any, width: int, height: int) -> str | None:
    """The face's 24x24 grey crop aligned on the eyes (`face_pose` frame), normalised, as hex; None without eyes."""
    eyes = {e.side: e for e in face.eyes}
    if "left" not in eyes or "right" not in eyes:
        return None
    sx, sy = image.width / width, image.height / height  # working px per original px (boxes are fractions)
    (rx, ry), (lx, ly) = _centre(eyes["right"].box, width, height), _centre(eyes["left"].box, width, height)
    rx, lx, ry, ly = rx * sx, lx * sx, ry * sy, ly * sy
    distance = math.hypot(lx - rx, ly - ry)
    if distance < 4:
        return None
    side = distance / EYE_SPAN  # source px the crop spans
    mx, my = (lx + rx) / 2, (ly + ry) / 2
    # First an axis-aligned region around the crop, shrunk (anti-aliased) to ~3x the output; then the rotation.
    half = side * 0.75
    x0, y0 = int(max(0, mx - half)), int(max(0, my - half * 0.7))
    x1, y1 = int(min(image.width, mx + half)), int(min(image.height, my + half * 1.3))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    k = min(1.0, 3 * FACE_CROP / side)
    region = image.crop((x0, y0, x1, y1)).convert("L")
    region = region.resize((max(2, round(region.width * k)), max(2, round(region.height * k))),
                           Image.Resampling.BILINEAR, reducing_gap=2.0)
    angle = math.atan2(ly - ry, lx - rx)
    cos, sin = math.cos(angle), math.sin(angle)
    scale = side * k / FACE_CROP  # region px per crop px
    cx, cy = (mx - x0) * k, (my - y0) * k
    ox, oy = 0.5 * FACE_CROP, EYE_ROW * FACE_CROP
    # Crop px (u, v) -> region px: rotate by the eye line's angle about the eye midpoint.
    a, b = scale * cos, -scale * sin
    d, e = scale * sin, scale * cos
    coeffs = (a, b, cx - a * ox - b * oy, d, e, cy - d * ox - e * oy)
    crop = region.transform((FACE_CROP, FACE_CROP), Image.Transform.AFFINE, coeffs, Image.Resampling.BILINEAR,
                            fillcolor=int(np.asarray(region).mean()))
    return _pack(_normalised(np.asarray(crop, np.float32)))


def _blur(grid: np.ndarray, sigma: float) -> np.ndarray:
    radius = int(3 * sigma)
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(grid, radius, mode="edge")
    rows = np.apply_along_axis(np.convolve, 1, padded, kernel, mode="valid")
    return np.apply_along_axis(np.convolve, 0, rows, kernel, mode="valid")


def identity(text: str) -> tuple[np.ndarray, np.ndarray]:
    """Who a stored face crop shows, as (vector, its mirror image's vector), unit length: the crop with its
    broad shading taken out (a high-pass: the light's direction changes between scenes, the features don't).
    The mirror lets a face turned the other way (or lit from the other side) match."""
    grid = unpack(text).reshape(FACE_CROP, FACE_CROP)
    detail = grid - _blur(grid, 2.5)

    def unit(v: np.ndarray) -> np.ndarray:
        v = v.ravel() - v.mean()
        n = float(np.linalg.norm(v))
        return v / n if n > 0 else v

    return unit(detail), unit(detail[:, ::-1])


def likeness(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of two unpacked descriptors (-1..1; 1 = the same picture up to exposure)."""
    return float(np.dot(a, b)) if a.shape == b.shape else 0.0


def pose_distance(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """How far apart two poses are, in units of what a burst's own jitter moves (1 = an ordinary change):
    the largest of tilt, turn, nod, the face's shift (in face widths) and its size change."""
    size = max(min(a["size"], b["size"]), 1e-3)
    return max(
        abs(a["roll"] - b["roll"]) / 6.0,
        abs(a["eye_x"] - b["eye_x"]) / 0.06,
        abs(a["eye_y"] - b["eye_y"]) / 0.06,
        abs(a["span"] - b["span"]) / (0.12 * max(a["span"], b["span"], 1e-3)),
        math.hypot(a["cx"] - b["cx"], a["cy"] - b["cy"]) / (0.5 * size),
        abs(math.log(max(a["size"], 1e-3) / max(b["size"], 1e-3))) / 0.2,
    )
