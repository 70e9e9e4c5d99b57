"""Per-eye openness (0 = shut, 1 = wide open) that is not just P(closed), and a per-subject session baseline.

Two measurements of one eye are fused:
  * the eyelid aperture: the iris model's lid outline, height / corner-to-corner width
    (`ml.faces.lid_ratio`), mapped linearly from APERTURE_SHUT (-> 0) to APERTURE_OPEN (-> 1).
    It moves smoothly from wide open through a squint to shut — the thing a photographer means;
  * the CNN's calibrated P(closed) (`1 - p`), which is the more accurate open/closed call.
raw = CNN_WEIGHT * (1 - p) + (1 - CNN_WEIGHT) * aperture; without a lid outline (a bare eye crop) raw = 1 - p,
put on the scale with CROP_CLOSED_CUT (P(closed) = 0.5 reads closed) and CROP_PARTLY_CUT.

The raw value is then put on the judging scale by a monotone piecewise-linear map whose knots
were fitted in grouped cross-validation (`ml.selection`): RAW_CLOSED_CUT -> 0.5 (the default
closed cut-off, `Thresholds.closed` = 0.5 on 1 - openness) and RAW_PARTLY_CUT -> 0.7 (the default
partly cut-off, `Thresholds.partly` = 0.3). So openness < 0.5 reads closed, 0.5-0.7 partly closed,
> 0.7 open at the default strictness. The constants are written in MODEL_CARD.md with the command that fitted them.
"""
from __future__ import annotations

import math
import statistics
from typing import Any, Mapping, Sequence

# Fitted by `python -m ml.selection` on out-of-fold predictions (see MODEL_CARD.md).
APERTURE_SHUT = 0.12  # lid height / eye width of a shut eye (median of closed CEW eyes ~0.13)
APERTURE_OPEN = 0.34  # ... of an ordinarily open eye (median of open CEW eyes ~0.33)
CNN_WEIGHT = 0.75
RAW_CLOSED_CUT = 0.34
RAW_PARTLY_CUT = 0.8693
# A bare eye crop (no lid outline, e.g. `ml.evaluate --eyes`): raw = 1 - P(closed); closed at P >= 0.5.
CROP_CLOSED_CUT = 0.5
CROP_PARTLY_CUT = 0.9542
# A session baseline: an eye this much narrower than the subject's usual reads partly closed.
BASELINE_NARROWER = 0.30
BASELINE_MIN_PHOTOS = 5  # fewer photos of the main face: no baseline


def aperture_openness(lid_ratio: float | None) -> float | None:
    """The lid aperture on 0-1 (0 = as shut as a closed eye, 1 = ordinarily open or wider), None if unmeasured."""
    if lid_ratio is None or not math.isfinite(lid_ratio) or lid_ratio <= 0:
        return None
    return min(1.0, max(0.0, (lid_ratio - APERTURE_SHUT) / (APERTURE_OPEN - APERTURE_SHUT)))


def raw_openness(p_closed: float, lid_ratio: float | None = None, *, cnn_weight: float = CNN_WEIGHT) -> float:
    aperture = aperture_openness(lid_ratio)
    if aperture is None:
        return 1.0 - p_closed
    return cnn_weight * (1.0 - p_closed) + (1.0 - cnn_weight) * aperture


def to_scale(raw: float, *, closed_cut: float = RAW_CLOSED_CUT, partly_cut: float = RAW_PARTLY_CUT) -> float:
    """Monotone map of a raw openness onto the judging scale (closed_cut -> 0.5, partly_cut -> 0.7)."""
    knots = ((0.0, 0.0), (closed_cut, 0.5), (max(partly_cut, closed_cut + 1e-6), 0.7), (1.0, 1.0))
    raw = min(1.0, max(0.0, raw))
    for (x0, y0), (x1, y1) in zip(knots, knots[1:]):
        if raw <= x1:
            return y0 + (y1 - y0) * (raw - x0) / max(x1 - x0, 1e-9)
    return 1.0


def openness(p_closed: float, lid_ratio: float | None = None) -> float:
    """The served per-eye openness, 0-1 (see the module doc)."""
    raw = raw_openness(p_closed, lid_ratio)
    if aperture_openness(lid_ratio) is None:
        return round(to_scale(raw, closed_cut=CROP_CLOSED_CUT, partly_cut=CROP_PARTLY_CUT), 4)
    return round(to_scale(raw), 4)


# --------------------------------------------------------------------------- session baseline


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _state_value(eye: Any) -> str:
    state = _get(eye, "state", "")
    return getattr(state, "value", state)


def session_baseline(analyses: Sequence[Any], *, min_photos: int = BASELINE_MIN_PHOTOS) -> dict[str, float]:
    """The main subject's usual openness per eye side over a session: {"left": m, "right": m}.

    `analyses`: PhotoAnalysis objects or their `to_dict()` forms. The main face (the first,
    largest) of each photo is taken as the session's subject — a headshot session. The usual
    openness is the median of that eye's openness over the photos where it is visible, so the
    occasional blink does not move it. Sides with fewer than `min_photos` values are left out.
    """
    values: dict[str, list[float]] = {}
    for analysis in analyses:
        faces = _get(analysis, "faces", ()) or ()
        if not faces:
            continue
        for eye in _get(faces[0], "eyes", ()) or ():
            if _state_value(eye) == "not_visible":
                continue
            value = _get(eye, "openness")
            if value is not None:
                values.setdefault(str(_get(eye, "side", "")), []).append(float(value))
    return {side: round(statistics.median(v), 4) for side, v in values.items() if len(v) >= min_photos}


def relative_openness(analysis: Any, baseline: Mapping[str, float]) -> dict[str, float]:
    """Openness of the main face's eyes relative to the baseline: {"left": 0.7, ...} (1.0 = her usual)."""
    faces = _get(analysis, "faces", ()) or ()
    out: dict[str, float] = {}
    if not faces:
        return out
    for eye in _get(faces[0], "eyes", ()) or ():
        side = str(_get(eye, "side", ""))
        usual = baseline.get(side)
        if usual and _state_value(eye) != "not_visible" and _get(eye, "openness") is not None:
            out[side] = round(float(_get(eye, "openness")) / usual, 4)
    return out


def narrower_than_usual(analysis: Any, baseline: Mapping[str, float], *,
                        narrower: float = BASELINE_NARROWER) -> list[tuple[str, float]]:
    """(side, relative openness) of the main face's eyes at least `narrower` (30 %) narrower than usual."""
    return [(side, r) for side, r in relative_openness(analysis, baseline).items() if r <= 1.0 - narrower]
