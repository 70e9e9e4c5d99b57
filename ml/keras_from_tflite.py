"""Rebuild the eye CNN's Keras model from a `.tflite` made by `ml.cnn.export_tflite`: what fine-tuning starts from.

    python -m ml.keras_from_tflite ml/models/eye_cnn.tflite ml/models/eye_cnn.keras

The bundled model was exported without its Keras file, and the run that made it (`ml.crossval final`, 14 epochs
on the research data) cannot be repeated bit for bit on today's face pipeline. The `.tflite` holds every weight,
with each BatchNormalization folded into the convolution before it (kernel x gamma / sqrt(var + eps), bias). So
the layers of `ml.cnn.build_model` get the folded kernels and an identity BatchNormalization: gamma 1, variance
1 - eps (so var + eps is exactly 1.0), beta = the folded bias, and a mean of the smallest normal float (beta - mean
is still exactly beta, but a nonzero mean keeps the converter's graph, names included, as it was for the original). The rebuilt model computes what the
`.tflite` computes, and converting it again gives the same file (checked by `main` and tests/ml).

Fine-tuning such a model must keep BatchNormalization in inference mode (`ml.retrain.fit` freezes it when it
starts from saved weights): in training mode it would normalise by batch statistics the folded kernels never had.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from ml.cnn import INPUT_SIZE

BN_EPSILON = 1e-3  # keras.layers.BatchNormalization's default, what build_model uses


class FoldedModelError(ValueError):
    """The `.tflite` is not an eye CNN of the `ml.cnn` architecture."""


def folded_weights(tflite_path: str | Path) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[tuple[np.ndarray, np.ndarray]]]:
    """([(conv kernel HWIO, bias)], [(dense kernel in x out, bias)]) in graph order, read from the file."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(tflite_path))
    convs, denses = [], []
    for op in interpreter._get_ops_details():  # the public API has no op list; this one is stable since TF 2.5
        if op["op_name"] not in ("CONV_2D", "FULLY_CONNECTED"):
            continue
        _, w_index, b_index = op["inputs"]
        weight = interpreter.get_tensor(int(w_index))
        # The converter leaves out an all-zero bias (index -1).
        bias = interpreter.get_tensor(int(b_index)) if b_index >= 0 else np.zeros(weight.shape[0], np.float32)
        if op["op_name"] == "CONV_2D":
            convs.append((np.transpose(weight, (1, 2, 3, 0)), bias))  # OHWI -> HWIO
        else:
            denses.append((weight.T, bias))  # (out, in) -> (in, out)
    return convs, denses


def identity_variance() -> np.float32:
    """A variance v with float32(v + eps) == 1.0 exactly, so the converter folds a factor of exactly 1."""
    v = np.float32(1.0) - np.float32(BN_EPSILON)
    while np.float32(v + np.float32(BN_EPSILON)) != np.float32(1.0):
        v = np.nextafter(v, np.float32(2.0) if v + np.float32(BN_EPSILON) < 1.0 else np.float32(0.0))
    return v


def keras_from_tflite(tflite_path: str | Path, out_path: str | Path) -> Path:
    """Write a `.keras` of the `ml.cnn` architecture that computes what `tflite_path` computes."""
    import keras

    from ml.cnn import build_model, configure_tensorflow

    configure_tensorflow(threads=2)
    convs, denses = folded_weights(tflite_path)
    if not convs:
        raise FoldedModelError(f"{tflite_path}: no convolutions; not an eye CNN of the ml.cnn architecture")
    width = convs[0][0].shape[-1]
    model = build_model(input_size=INPUT_SIZE, width=width)
    conv_layers = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    bn_layers = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    dense_layers = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    if len(convs) != len(conv_layers) or len(denses) != len(dense_layers):
        raise FoldedModelError(f"{tflite_path}: {len(convs)} convolutions and {len(denses)} dense layers, "
                               f"the eye CNN has {len(conv_layers)} and {len(dense_layers)}")
    variance = identity_variance()
    for (kernel, bias), conv, bn in zip(convs, conv_layers, bn_layers):
        if conv.get_weights()[0].shape != kernel.shape:
            raise FoldedModelError(f"{tflite_path}: kernel {kernel.shape} where the eye CNN has "
                                   f"{conv.get_weights()[0].shape}")
        conv.set_weights([kernel])
        channels = len(bias)
        mean = np.where(np.abs(bias) > 2.0 ** -100, np.finfo(np.float32).tiny, 0.0).astype(np.float32)
        bn.set_weights([np.ones(channels, np.float32), bias.astype(np.float32), mean,
                        np.full(channels, variance, np.float32)])
    for (kernel, bias), dense in zip(denses, dense_layers):
        dense.set_weights([kernel, bias])
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    model.save(out_path)
    return out_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.keras_from_tflite", description=__doc__.splitlines()[0])
    parser.add_argument("tflite", type=Path)
    parser.add_argument("out", type=Path, help="the .keras file to write")
    args = parser.parse_args(argv)
    import tempfile

    import keras

    from ml.cnn import export_tflite
    from ml.eye_model import EyeModel

    keras_from_tflite(args.tflite, args.out)
    with tempfile.TemporaryDirectory() as tmp:
        again = export_tflite(keras.models.load_model(args.out, compile=False), Path(tmp) / "again.tflite")
        same_bytes = again.read_bytes() == args.tflite.read_bytes()
        crops = np.random.default_rng(0).integers(0, 256, (256, INPUT_SIZE, INPUT_SIZE), dtype=np.uint8)
        gap = float(np.abs(EyeModel(again).predict(crops) - EyeModel(args.tflite).predict(crops)).max())
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes); converted again: "
          f"{'the same bytes' if same_bytes else 'different bytes'}, largest P(closed) gap {gap:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
