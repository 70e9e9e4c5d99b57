"""Calibration of P(closed): temperature / isotonic fits, expected calibration error, reliability plots.

Pure numpy + Pillow. The served model has its temperature baked into its last layer
(`ml.train.bake_temperature`), so the app reads calibrated probabilities straight from the
`.tflite`; these functions are for fitting and measuring that in cross-validation.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

ECE_BINS = 15


def sigmoid(z: np.ndarray) -> np.ndarray:
    z = np.clip(np.asarray(z, np.float64), -60, 60)
    return 1.0 / (1.0 + np.exp(-z))


def logit(p: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    p = np.clip(np.asarray(p, np.float64), eps, 1 - eps)
    return np.log(p / (1 - p))


def nll(p: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def fit_temperature(z: np.ndarray, y: np.ndarray) -> float:
    """T > 0 minimising the log loss of sigmoid(z / T) (golden-section search on log T)."""
    z, y = np.asarray(z, np.float64), np.asarray(y, np.float64)
    lo, hi = math.log(0.05), math.log(50.0)
    g = (math.sqrt(5) - 1) / 2
    f = lambda lt: nll(sigmoid(z / math.exp(lt)), y)  # noqa: E731
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    fa, fb = f(a), f(b)
    for _ in range(60):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - g * (hi - lo)
            fa = f(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = f(b)
    return float(math.exp((lo + hi) / 2))


def fit_isotonic(p: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pool-adjacent-violators fit: (x knots, y values) for `apply_isotonic`."""
    order = np.argsort(p, kind="stable")
    xs, ys = np.asarray(p, np.float64)[order], np.asarray(y, np.float64)[order]
    blocks: list[list[float]] = []  # [sum_y, count, max_x]
    for xv, yv in zip(xs, ys):
        blocks.append([yv, 1.0, xv])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] >= blocks[-1][0] / blocks[-1][1]:
            s, c, x = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += c
            blocks[-1][2] = x
    knots = np.array([b[2] for b in blocks])
    values = np.array([b[0] / b[1] for b in blocks])
    return knots, values


def apply_isotonic(p: np.ndarray, fit: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    knots, values = fit
    idx = np.searchsorted(knots, np.asarray(p, np.float64), side="left")
    return values[np.clip(idx, 0, len(values) - 1)]


def reliability(p: np.ndarray, y: np.ndarray, bins: int = ECE_BINS) -> list[dict]:
    """Equal-width bins: count, mean predicted P, observed share closed."""
    p, y = np.asarray(p, np.float64), np.asarray(y, np.float64)
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    out = []
    for b in range(bins):
        m = idx == b
        out.append({"lo": float(edges[b]), "hi": float(edges[b + 1]), "n": int(m.sum()),
                    "mean_p": float(p[m].mean()) if m.any() else float("nan"),
                    "observed": float(y[m].mean()) if m.any() else float("nan")})
    return out


def ece(p: np.ndarray, y: np.ndarray, bins: int = ECE_BINS) -> float:
    """Expected calibration error: mean |observed - predicted| over equal-width bins, weighted by count."""
    rows = reliability(p, y, bins)
    n = max(1, sum(r["n"] for r in rows))
    return float(sum(r["n"] * abs(r["observed"] - r["mean_p"]) for r in rows if r["n"]) / n)


def reliability_png(curves: dict[str, tuple[np.ndarray, np.ndarray]], path: str | Path, *, size: int = 360,
                    title: str = "") -> Path:
    """A small reliability diagram (predicted P vs observed share closed), one line per curve, as PNG."""
    from PIL import Image, ImageDraw

    colours = [(200, 60, 40), (40, 110, 200), (60, 160, 60), (150, 80, 170)]
    pad, top = 44, 28
    w = size
    img = Image.new("RGB", (w + pad + 10, w + pad + top + 14 * len(curves)), "white")
    d = ImageDraw.Draw(img)

    def xy(px: float, py: float) -> tuple[float, float]:
        return pad + px * w, top + (1 - py) * w

    d.rectangle([xy(0, 1), xy(1, 0)], outline=(0, 0, 0))
    for t in (0.25, 0.5, 0.75):
        d.line([xy(t, 0), xy(t, 1)], fill=(230, 230, 230))
        d.line([xy(0, t), xy(1, t)], fill=(230, 230, 230))
    d.line([xy(0, 0), xy(1, 1)], fill=(160, 160, 160))
    for t in (0.0, 0.5, 1.0):
        d.text((xy(t, 0)[0] - 8, xy(t, 0)[1] + 4), f"{t:.1f}", fill=(0, 0, 0))
        d.text((4, xy(0, t)[1] - 6), f"{t:.1f}", fill=(0, 0, 0))
    d.text((pad, 6), title or "reliability: predicted P(closed) (x) vs observed share closed (y)", fill=(0, 0, 0))
    for i, (name, (p, y)) in enumerate(curves.items()):
        colour = colours[i % len(colours)]
        rows = [r for r in reliability(p, y) if r["n"]]
        pts = [xy(r["mean_p"], r["observed"]) for r in rows]
        if len(pts) > 1:
            d.line(pts, fill=colour, width=2)
        for r, (px, py) in zip(rows, pts):
            rad = 2 + min(5, math.log10(r["n"] + 1) * 1.5)
            d.ellipse([px - rad, py - rad, px + rad, py + rad], fill=colour)
        d.text((pad, top + w + 22 + 14 * i), f"{name}: ECE {ece(p, y):.3f} (n={len(p)})", fill=colour)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, optimize=True)
    return path
