"""`ml.retrain.fit` (the learning loop's trainer) bakes a calibration temperature like `ml.train` does."""
from __future__ import annotations

import numpy as np
import pytest

from ml.cnn import INPUT_SIZE
from ml.retrain import Arrays, fit

pytestmark = pytest.mark.slow


def _crops(n: int, seed: int) -> Arrays:
    """Drawn eyes: open = a dark round iris, closed = a dark lid line; noise so it is not trivial."""
    rng = np.random.default_rng(seed)
    x = rng.normal(170, 25, (n, INPUT_SIZE, INPUT_SIZE)).clip(0, 255)
    y = (np.arange(n) % 2).astype(np.int64)
    c = INPUT_SIZE // 2
    yy, xx = np.mgrid[:INPUT_SIZE, :INPUT_SIZE]
    for i in range(n):
        if y[i]:
            x[i][abs(yy - c - rng.integers(-2, 3)) <= 1] -= 90
        else:
            x[i][(yy - c) ** 2 + (xx - c) ** 2 <= (INPUT_SIZE // 5) ** 2] -= 110
    return Arrays(x.clip(0, 255).astype(np.uint8), y)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p.astype(np.float64), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def test_fit_bakes_the_temperature_fitted_on_the_held_out_crops(tmp_path):
    from ml.eye_model import EyeModel

    train, held_out = _crops(96, seed=1), _crops(48, seed=2)
    plain = fit(train, tmp_path / "plain", epochs=1, seed=5)
    calibrated = fit(train, tmp_path / "calibrated", epochs=1, seed=5, calibrate=held_out)
    assert plain.temperature is None
    assert calibrated.temperature is not None and calibrated.temperature > 0
    # Same seed, same weights: the served logits differ exactly by the baked temperature.
    z_plain = _logit(EyeModel(plain.tflite_path).predict(held_out.x))
    z_cal = _logit(EyeModel(calibrated.tflite_path).predict(held_out.x))
    keep = np.abs(z_plain) < 8  # away from float saturation
    assert keep.sum() > 10
    np.testing.assert_allclose(z_cal[keep], z_plain[keep] / calibrated.temperature, rtol=0.05, atol=0.05)


def test_one_class_or_no_held_out_data_leaves_the_model_uncalibrated(tmp_path):
    train = _crops(32, seed=3)
    one_class = Arrays(train.x[train.y == 1], train.y[train.y == 1])
    assert fit(train, tmp_path / "a", epochs=1, seed=5, calibrate=one_class).temperature is None
