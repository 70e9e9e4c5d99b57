"""Blur measured on one region, in pixels: how wide its edges are (defocus) and how much wider along one
direction (motion), with the noise level it was measured through.

Re-blur ratio (Hu & de Haan 2006; Zhuo & Sim 2011): an edge blurred by a Gaussian of width s has a gradient
peak A / (sqrt(2 pi) s); blurring it again by a known r gives A / (sqrt(2 pi) sqrt(s^2 + r^2)). The ratio R of
the two gives s = r / sqrt(R^2 - 1): the contrast A cancels (skin tone, lighting, make-up), and along a
direction d the derivative gives the blur along d. A motion smear of length L along phi adds L^2/12 cos^2(d - phi)
to the variance seen along d, so four directions fit (defocus^2, L, phi) in closed form, and defocus is read
across the smear: a moving subject is not also called out of focus.

Noise (sensor, ISO) inflates the finest gradients and would read as detail: it is estimated from the
region's diagonal second differences (median, robust to edges), its share is taken out of the gradient
energy, and only edges well above it are used. A region without such edges gives None: nothing to judge.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

DIRECTIONS = (0, 45, 90, 135)  # degrees: x to the right, y down
REBLUR = 2.0  # px: the known second blur (2 px reaches long motion smears; 1 px saturates near 3)
EDGE_QUANTILE = 0.9  # the strongest tenth of a direction's gradients are its edges
MIN_EDGES = 12  # fewer edge pixels in a direction: that direction is not measured
EDGE_OVER_NOISE = 4.0  # an edge's gradient must stand this far above the noise's
MAX_BLUR = 16.0  # px: readings beyond this are "very blurred" and clipped (ratio ~1 is unreadable)


@dataclass(frozen=True)
class Blur:
    """One region's blur, in px of the image it was measured on."""

    defocus: float  # the isotropic part: Gaussian width of an edge across any smear
    motion: float  # length of a straight smear (box kernel) on top of it; 0 = none
    angle: float  # the smear's direction in degrees, 0 = horizontal, 90 = vertical (0-180)
    directions: tuple[float | None, ...]  # the blur seen along each of DIRECTIONS (None: too few edges)
    noise: float  # the noise's standard deviation, grey levels (0-255)
    edges: int  # edge pixels used (over all directions)

    def to_dict(self) -> dict:
        return {"defocus": round(self.defocus, 3), "motion": round(self.motion, 2), "angle": round(self.angle, 1),
                "directions": [None if d is None else round(d, 3) for d in self.directions],
                "noise": round(self.noise, 2), "edges": self.edges}


def _kernel(sigma: float) -> np.ndarray:
    radius = max(1, int(math.ceil(3 * sigma)))
    x = np.arange(-radius, radius + 1, dtype=np.float32)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


def gaussian(a: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur with edge padding (numpy only: ml has no scipy)."""
    k = _kernel(sigma)
    r = len(k) // 2
    p = np.pad(a, r, mode="edge")
    rows = sum(w * p[:, i:i + a.shape[1]] for i, w in enumerate(k))  # along x: (H + 2r, W)
    return sum(w * rows[i:i + a.shape[0]] for i, w in enumerate(k))  # along y: (H, W)


def noise_level(a: np.ndarray) -> float:
    """Noise std (grey levels) from the median of the diagonal second difference (the finest wavelet band)."""
    if min(a.shape) < 3:
        return 0.0
    hh = np.abs(a[1::2, 1::2] - a[1::2, :-1:2] - a[:-1:2, 1::2] + a[:-1:2, :-1:2]).ravel() * 0.5  # every 2nd: cheap
    return float(np.partition(hh, hh.size // 2)[hh.size // 2] / 0.6745)


def _gradients(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    gx = (a[1:-1, 2:] - a[1:-1, :-2]) * 0.5
    gy = (a[2:, 1:-1] - a[:-2, 1:-1]) * 0.5
    return gx, gy


def _fit(directions: list[float | None]) -> tuple[float, float, float]:
    """(defocus, motion length, angle) from the blur along 0/45/90/135 degrees (see the module doc)."""
    measured = [d for d in directions if d is not None]
    if len(measured) < len(DIRECTIONS):
        return min(measured), 0.0, 0.0
    v = [d * d for d in directions]
    mean = sum(v) / 4
    b, c = (v[0] - v[2]) / 2, (v[1] - v[3]) / 2
    half_m = math.hypot(b, c)  # = (L^2 / 12) / 2
    defocus = math.sqrt(max(mean - half_m, min(v)))  # never below the sharpest direction seen
    length = math.sqrt(12 * 2 * half_m)
    angle = (math.degrees(math.atan2(c, b)) / 2) % 180
    return defocus, length, angle


def measure(gray: np.ndarray, mask: np.ndarray | None = None) -> Blur | None:
    """The blur of a grey region (float, 0-255); `mask` (same shape, bool) limits which pixels count as
    edges (say, the background outside a face). None when no direction has enough clear edges."""
    a = np.asarray(gray, dtype=np.float32)
    if min(a.shape) < 12:
        return None
    noise = noise_level(a)
    gx, gy = _gradients(a)
    rx, ry = _gradients(gaussian(a, REBLUR))
    border = int(math.ceil(3 * REBLUR))  # the padding's reach
    inner = (slice(border, -border), slice(border, -border))
    gx, gy, rx, ry = gx[inner], gy[inner], rx[inner], ry[inner]
    allowed = None if mask is None else np.asarray(mask, bool)[1:-1, 1:-1][inner]
    noise_var = noise * noise * 0.5  # a central difference's share of the noise variance
    floor = EDGE_OVER_NOISE * math.sqrt(noise_var)
    directions: list[float | None] = []
    edges = 0
    for degrees in DIRECTIONS:
        t = math.radians(degrees)
        d = np.abs(math.cos(t) * gx + math.sin(t) * gy)
        dr = np.abs(math.cos(t) * rx + math.sin(t) * ry)
        # Edges are chosen on the re-blurred gradient: choosing on the fine one would pick the sharpest
        # edges and miss a smear (its ramps are weak at the fine scale).
        values = dr if allowed is None else dr[allowed]
        if values.size < MIN_EDGES * 4:
            directions.append(None)
            continue
        sample = values.ravel()[::3]  # the quantile of every 3rd value: the same cut at a third of the cost
        cut = max(float(np.partition(sample, int(EDGE_QUANTILE * (sample.size - 1)))[int(EDGE_QUANTILE * (sample.size - 1))]),
                  floor, 1.0)
        chosen = dr >= cut if allowed is None else (dr >= cut) & allowed
        n = int(chosen.sum())
        if n < MIN_EDGES:
            directions.append(None)
            continue
        edges += n
        fine = float(np.mean(d[chosen] ** 2)) - noise_var
        coarse = float(np.mean(dr[chosen] ** 2))
        ratio2 = fine / coarse if coarse > 0 else 0.0
        directions.append(MAX_BLUR if ratio2 <= 1.0 else min(MAX_BLUR, REBLUR / math.sqrt(ratio2 - 1.0)))
    if all(d is None for d in directions):
        return None
    defocus, length, angle = _fit(directions)
    return Blur(defocus=defocus, motion=length, angle=angle, directions=tuple(directions), noise=noise, edges=edges)
