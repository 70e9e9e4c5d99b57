"""The eye-state CNN: a small Keras model that maps a grayscale eye crop to P(closed).

TensorFlow/Keras are imported inside the functions: only training and conversion need them;
the worker serves the exported `.tflite` through LiteRT (ml/eye_model.py).

Input: float32 [N, S, S, 1] with raw 0-255 pixel values (S = 32). The first layer standardises
each crop on its own (LayerNormalization over H, W, C without learned scale), so the model
cannot lean on the overall brightness of a collection and the caller needs no preprocessing
beyond "uint8 gray -> float32".
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

INPUT_SIZE = 32


def configure_tensorflow(*, threads: int = 2, seed: int | None = None) -> Any:
    """Import TensorFlow with bounded threads (the machine is shared) and, given a seed, deterministic ops.

    Must run before the first TF op of the process; later calls only re-seed.
    """
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # already initialised in this process: threads are fixed by then
        logger.debug("TensorFlow threads already configured")
    if seed is not None:
        import keras

        keras.utils.set_random_seed(seed)
        try:
            tf.config.experimental.enable_op_determinism()
        except RuntimeError:
            logger.debug("op determinism already set")
    return tf


def build_model(*, input_size: int = INPUT_SIZE, width: int = 24, dropout: float = 0.3) -> Any:
    """Four conv stages (two convs at each of the first two) + GAP + dense head; ~170k parameters at width 24.

    Conv stages keep the spatial layout long enough to see the lid line and the iris; global
    pooling at the end keeps it small enough for < 1 ms per crop on one core.
    """
    import keras
    from keras import layers

    def conv_bn(x: Any, filters: int) -> Any:
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        return layers.ReLU()(x)

    inputs = keras.Input((input_size, input_size, 1), name="eye")
    # Per-crop standardisation: (x - mean) / std over the whole crop.
    x = layers.LayerNormalization(axis=[1, 2, 3], center=False, scale=False, epsilon=1.0, name="standardise")(inputs)
    x = conv_bn(x, width)
    x = conv_bn(x, width)
    x = layers.MaxPooling2D()(x)  # 16
    x = conv_bn(x, width * 2)
    x = conv_bn(x, width * 2)
    x = layers.MaxPooling2D()(x)  # 8
    x = conv_bn(x, width * 4)
    x = layers.MaxPooling2D()(x)  # 4
    x = conv_bn(x, width * 4)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(dropout)(x)
    x = layers.Dense(64, activation="relu")(x)
    x = layers.Dropout(dropout / 2)(x)
    # The logit is its own layer so calibration can read it and bake a temperature into it.
    logit = layers.Dense(1, name="logit")(x)
    outputs = layers.Activation("sigmoid", name="p_closed")(logit)
    return keras.Model(inputs, outputs, name="eye_cnn")


def export_tflite(model: Any, path: str | Path) -> Path:
    """Convert a Keras model to a float32 `.tflite` with a dynamic batch dimension."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    data = converter.convert()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    logger.info("wrote %s (%d bytes)", path, len(data))
    return path
