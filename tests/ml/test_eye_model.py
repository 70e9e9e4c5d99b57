"""The committed eye-state model, served through LiteRT (real model, no mocks)."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from ml import datasets
from ml.eye_model import DEFAULT_MODEL_PATH, EyeModel, ModelError, load_model
from ml.metrics import binary_metrics
from tests.conftest import ROOT

# Floors sit a little under what MODEL_CARD.md reports, so a worse model fails loudly.
FLOOR_ACCURACY = 0.96
FLOOR_RECALL = 0.95
ECE_BOUND = 0.03


def test_committed_model_is_small_and_present():
    assert DEFAULT_MODEL_PATH.is_file()
    assert DEFAULT_MODEL_PATH.stat().st_size < 1_000_000


def test_predict_gives_one_probability_per_crop():
    model = load_model()
    assert model.input_size == 32
    assert len(model.version) == 12
    crops = np.random.default_rng(0).integers(0, 256, size=(5, 32, 32), dtype=np.uint8)
    p = model.predict(crops)
    assert p.shape == (5,) and p.dtype == np.float32
    assert np.all((p >= 0) & (p <= 1))
    # One crop alone, and a batch of another size, reuse the same interpreter correctly.
    assert model.predict(crops[0]).shape == (1,)
    np.testing.assert_allclose(model.predict(crops[:2]), p[:2], atol=1e-5)
    assert model.predict(np.zeros((0, 32, 32), np.uint8)).shape == (0,)


def test_load_model_is_cached_per_path():
    assert load_model() is load_model(DEFAULT_MODEL_PATH)


def test_wrong_crop_shape_is_a_clear_error():
    with pytest.raises(ModelError, match=r"\[N,32,32\]"):
        load_model().predict(np.zeros((2, 24, 24), np.uint8))


def test_broken_model_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"not a model at all")
    with pytest.raises(ModelError):
        EyeModel(bad)
    with pytest.raises(ModelError, match="cannot read"):
        EyeModel(tmp_path / "missing.tflite")


def test_serving_never_imports_tensorflow():
    code = (
        "import sys, numpy as np; from ml.eye_model import load_model; "
        "load_model().predict(np.zeros((3, 32, 32), np.uint8)); "
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]


@pytest.fixture(scope="module")
def dev_slice(shared_data):
    """Every 3rd CEW patch and every 2nd yawn close-up of the dev side (the final test split left out)."""
    from ml import devdata

    table = devdata.EyeTable.concat([devdata.cew_patches(shared_data), devdata.yawn_eyes(shared_data)])
    test = devdata.test_groups(table)
    dev = np.flatnonzero([g not in test for g in table.group])
    patches = dev[table.source[dev] == "cew_eyes"][::3]
    yawn = dev[table.source[dev] == "yawn"][::2]
    return table.take(np.concatenate([patches, yawn]))


def test_committed_model_scores_above_floor_on_a_dev_slice(dev_slice):
    assert len(dev_slice) > 1000
    p = load_model().predict(dev_slice.x)
    for source in ("cew_eyes", "yawn"):
        m = dev_slice.source == source
        metrics = binary_metrics(dev_slice.y[m], p[m] >= 0.5)
        assert metrics.accuracy >= FLOOR_ACCURACY, (source, metrics.summary())
        assert metrics.recall >= FLOOR_RECALL, (source, metrics.summary())


def test_committed_model_is_calibrated_on_a_dev_slice(dev_slice):
    from ml.calibration import ece

    p = load_model().predict(dev_slice.x)
    assert ece(p, dev_slice.y) < ECE_BOUND
    # Not saturated: some crops sit between the cut-offs, so the strictness slider has something to move.
    assert ((p > 0.05) & (p < 0.95)).mean() > 0.01
