"""The bundled model ships its Keras weights: converting them gives the bundled `.tflite`, byte for byte.

So a fresh install fine-tunes the model it serves (ml.keras_from_tflite rebuilt them from that file), and the
pinned figures of `ml.evaluate` (tests/ml/test_evaluate_pinned.py) stay those of the same file.
"""
from __future__ import annotations

import numpy as np
import pytest

from ml.eye_model import DEFAULT_MODEL_PATH

pytestmark = pytest.mark.slow  # imports TensorFlow (~5 s)

KERAS_PATH = DEFAULT_MODEL_PATH.with_suffix(".keras")


def test_the_shipped_keras_weights_convert_to_the_bundled_tflite(tmp_path):
    import keras

    from ml.cnn import export_tflite
    from ml.retrain import has_folded_batchnorm

    model = keras.models.load_model(KERAS_PATH, compile=False)
    again = export_tflite(model, tmp_path / "again.tflite")

    assert again.read_bytes() == DEFAULT_MODEL_PATH.read_bytes()
    assert has_folded_batchnorm(model)  # so a fine-tune keeps its BatchNorm frozen
    assert KERAS_PATH.stat().st_size < 2_000_000


def test_rebuilding_from_the_tflite_computes_the_same_p_closed(tmp_path):
    import keras

    from ml.eye_model import EyeModel
    from ml.keras_from_tflite import keras_from_tflite
    from ml.train import _predict

    rebuilt = keras.models.load_model(keras_from_tflite(DEFAULT_MODEL_PATH, tmp_path / "m.keras"), compile=False)
    crops = np.random.default_rng(3).integers(0, 256, (64, 32, 32), dtype=np.uint8)

    served = EyeModel(DEFAULT_MODEL_PATH).predict(crops)
    np.testing.assert_allclose(_predict(rebuilt, crops.astype(np.float32)[..., None]), served, atol=1e-5)


def test_a_tflite_of_another_shape_is_refused_with_a_reason(tmp_path):
    from ml.cnn import build_model, export_tflite
    from ml.keras_from_tflite import FoldedModelError, keras_from_tflite

    other = export_tflite(build_model(width=8), tmp_path / "narrow.tflite")
    keras_from_tflite(other, tmp_path / "narrow.keras")  # same architecture, other width: rebuilt at its width
    import keras
    from keras import layers

    tiny = keras.Sequential([keras.Input((32, 32, 1)), layers.Flatten(), layers.Dense(1)])
    with pytest.raises(FoldedModelError, match="convolutions"):
        keras_from_tflite(export_tflite(tiny, tmp_path / "tiny.tflite"), tmp_path / "tiny.keras")
