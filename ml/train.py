"""Train the eye-state CNN: `python -m ml.train --data ../shared/data --out DIR`.

Data: CEW eye patches (<data>/cew/eyes), eyes cut by our own pipeline from the CEW face crops
(<data>/faces, when ml.faces/ml.eyes are importable), the yawn_eyes RGB close-ups (<data>/yawn_eyes,
all to training) and optional extra labelled crops (<extra>/{closed,open}/**, e.g. photographers'
corrections). Split: by group (source photo / LFW person), seeded and deterministic; the validation
groups never reach training. A temperature fitted on the validation split is baked into the export.

This is the retraining flow the app runs. The committed model is made by `python -m ml.crossval final`
(grouped cross-validation split and choices, see ml/models/MODEL_CARD.md); both share `fit_arrays`.

Writes OUT/eye_cnn.keras, OUT/eye_cnn.tflite and OUT/metrics.json; prints the metrics.
TensorFlow is imported only inside train().
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import math
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image, ImageFilter

from ml import datasets
from ml.cnn import INPUT_SIZE
from ml.metrics import Metrics, binary_metrics

logger = logging.getLogger(__name__)

DEFAULT_EPOCHS = 30
DEFAULT_BATCH = 64


@dataclass(frozen=True)
class TrainReport:
    out_dir: Path
    keras_path: Path
    tflite_path: Path
    version: str  # sha256[:12] of the .tflite, as EyeModel.version reports it
    seed: int
    epochs: int
    seconds: float
    counts: dict[str, dict[str, int]]  # source -> {"train_closed", "train_open", "val_closed", "val_open"}
    metrics: dict  # validation eye crops (all sources), through the exported .tflite
    metrics_by_source: dict[str, dict] = field(default_factory=dict)
    collection_check: dict = field(default_factory=dict)
    temperature: float = 1.0  # baked into the exported model's last layer

    def to_dict(self) -> dict:
        data = asdict(self)
        for key in ("out_dir", "keras_path", "tflite_path"):
            data[key] = str(data[key])
        return data


# --------------------------------------------------------------------------- augmentation


def augment(images: np.ndarray, rng: np.random.Generator, *, strength: float = 1.0, flip: bool = True) -> np.ndarray:
    """Random photometric + geometric changes to uint8 [N,S,S] crops (returns a new array).

    Geometry (rotation +-12 deg, scale 0.85-1.2, shift +-2.5 px, mirror) covers the slack of our
    landmark-based cropper; resolution drops, blur, noise and JPEG cover small/soft faces.
    `strength` scales the ranges and probabilities (0 = only the mirror).
    """
    k = float(strength)
    n, size, _ = images.shape
    pad = size // 4
    centre_out = (size - 1) / 2
    centre_in = pad + centre_out
    out = np.empty_like(images)
    for i in range(n):
        img = images[i]
        if flip and rng.random() < 0.5:
            img = img[:, ::-1]
        padded = Image.fromarray(np.pad(img, pad, mode="edge"))
        angle = math.radians(rng.uniform(-12, 12) * k)
        inv = 1.0 / math.exp(rng.uniform(math.log(0.85), math.log(1.2)) * k)
        tx, ty = rng.uniform(-2.5, 2.5, size=2) * k
        ca, sa = math.cos(angle) * inv, math.sin(angle) * inv
        # Output pixel (u, v) samples input (x, y) = R(-a)/scale * (u - c, v - c) + centre + shift.
        coeffs = (ca, sa, centre_in + tx - ca * centre_out - sa * centre_out,
                  -sa, ca, centre_in + ty + sa * centre_out - ca * centre_out)
        im = padded.transform((size, size), Image.AFFINE, coeffs, resample=Image.BILINEAR)
        if rng.random() < 0.3 * k:  # fewer real pixels: a small face upscaled
            low = int(rng.integers(10, size - 6))
            im = im.resize((low, low), Image.BILINEAR).resize((size, size), Image.BILINEAR)
        if rng.random() < 0.3 * k:
            im = im.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(0.3, 1.2))))
        if rng.random() < 0.2 * k:
            buf = io.BytesIO()
            im.save(buf, format="JPEG", quality=int(rng.integers(30, 90)))
            im = Image.open(buf).convert("L")
        out[i] = np.asarray(im)
    x = out.astype(np.float32)
    # Gamma, contrast, brightness, noise: vectorised per crop.
    gamma = np.where(rng.random(n) < 0.5 * k, np.exp(rng.uniform(math.log(0.6), math.log(1.6), n) * k), 1.0)
    x = 255.0 * (x / 255.0) ** gamma[:, None, None]
    mean = x.mean(axis=(1, 2), keepdims=True)
    contrast = 1.0 + rng.uniform(-0.4, 0.4, n)[:, None, None] * k
    bright = rng.uniform(-30, 30, n)[:, None, None] * k
    x = (x - mean) * contrast + mean + bright
    noisy = rng.random(n) < 0.3 * k
    if noisy.any():
        x[noisy] += rng.normal(0, 1, x[noisy].shape) * rng.uniform(1, 6, (int(noisy.sum()), 1, 1))
    return np.clip(x + 0.5, 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- data assembly


@dataclass
class _Part:
    """Crops of one source, already at the CNN size."""

    name: str
    x: np.ndarray  # uint8 [N,S,S]
    y: np.ndarray  # int64 [N]
    groups: list[str]
    paths: list[str]


def _eye_patch_parts(data_dir: Path, *, seed: int) -> tuple[_Part, _Part, set[str]]:
    patches = datasets.load_eye_patches(data_dir)
    val_groups = datasets.validation_groups(patches.groups, patches.labels, seed=seed)
    mask = datasets.split_mask(patches, val_groups)
    parts = []
    for name, m in (("cew_eyes", ~mask), ("cew_eyes", mask)):
        sub = patches.subset(m)
        parts.append(_Part(name, datasets.resize_square(sub.images, INPUT_SIZE), sub.labels,
                           sub.groups, [str(p) for p in sub.paths]))
    return parts[0], parts[1], val_groups


def _face_eye_parts(data_dir: Path, val_groups: set[str]) -> tuple[_Part, _Part] | None:
    """Eyes cut by our own pipeline (ml.face_crops) from the CEW face crops, split like the patches."""
    try:
        from ml import face_crops
    except ImportError as exc:  # the faces helper's modules are not there yet
        logger.warning("face-derived eye crops skipped: %s", exc)
        return None
    faces_dir = Path(data_dir) / "faces"
    if not faces_dir.is_dir():
        logger.warning("face-derived eye crops skipped: %s missing", faces_dir)
        return None
    crops = face_crops.eye_crops_from_faces(faces_dir)
    mask = np.asarray([g in val_groups for g in crops.groups], dtype=bool)
    parts = []
    for m in (~mask, mask):
        idx = np.flatnonzero(m)
        parts.append(_Part("face_eyes", crops.x[idx], crops.y[idx], [crops.groups[i] for i in idx],
                           [crops.paths[i] for i in idx]))
    return parts[0], parts[1]


def _extra_part(extra: Path) -> _Part:
    data = datasets.load_folder(extra, mode="L")
    return _Part("extra", datasets.resize_square(data.images, INPUT_SIZE), data.labels, data.groups,
                 [str(p) for p in data.paths])


def _concat(parts: list[_Part]) -> tuple[np.ndarray, np.ndarray]:
    return np.concatenate([p.x for p in parts]), np.concatenate([p.y for p in parts])


# --------------------------------------------------------------------------- checks


def masked_variants(x: np.ndarray) -> dict[str, np.ndarray]:
    """Crops with the surround or the eye hidden (filled with the crop's mean gray).

    `eye_only`: an ellipse over the central eye region kept, the surround (brows, skin, hair,
    watermarks) hidden. `surround_only`: the reverse. A model that looks at the eye keeps its
    accuracy on eye_only and drops to near chance on surround_only.
    """
    size = x.shape[1]
    yy, xx = np.mgrid[0:size, 0:size]
    c = (size - 1) / 2
    inside = ((xx - c) / (0.36 * size)) ** 2 + ((yy - c) / (0.24 * size)) ** 2 <= 1.0
    mean = x.reshape(len(x), -1).mean(axis=1).astype(np.uint8)[:, None, None]
    eye_only = np.where(inside[None], x, mean)
    surround_only = np.where(inside[None], mean, x)
    return {"eye_only": eye_only.astype(np.uint8), "surround_only": surround_only.astype(np.uint8)}


def _predict(model: object, x: np.ndarray, batch: int = 1024) -> np.ndarray:
    """Keras inference in plain batches (no tf.data), P(closed) [N]."""
    import keras

    out = [keras.ops.convert_to_numpy(model(x[i: i + batch], training=False)).reshape(-1)
           for i in range(0, len(x), batch)]
    return np.concatenate(out) if out else np.zeros((0,), np.float32)


@contextlib.contextmanager
def _quiet_keras() -> Iterator[None]:
    """Keras 3.15 turns tensors into arrays in a way numpy 2 flags as deprecated, once per variable."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*copy keyword", category=DeprecationWarning)
        yield


def _metrics_at(p: np.ndarray, y: np.ndarray, threshold: float = 0.5) -> Metrics:
    return binary_metrics(y, p >= threshold)


# --------------------------------------------------------------------------- training


def fit_arrays(
    x_train: np.ndarray,
    y_train: np.ndarray,
    *,
    seed: int = datasets.DEFAULT_SEED,
    epochs: int = DEFAULT_EPOCHS,
    batch_size: int = DEFAULT_BATCH,
    threads: int = 2,
    width: int = 24,
    aug_strength: float = 1.0,
    closed_weight: float = 1.0,
    sample_weight: np.ndarray | None = None,
    rng: np.random.Generator | None = None,
    progress: object | None = None,
) -> object:
    """Train the eye CNN on uint8 [N,S,S] crops (1 = closed); returns the Keras model.

    The loop behind `train()` and `ml.crossval`: fresh augmentation every epoch, Adam with cosine
    decay from 2e-3, binary cross-entropy. Deterministic for a given seed and data.
    `progress(model) -> str` is appended to the log line every 5th epoch and the last.
    """
    from ml.cnn import build_model, configure_tensorflow

    configure_tensorflow(threads=threads, seed=seed)
    import keras

    keras.utils.set_random_seed(seed)
    rng = rng if rng is not None else np.random.default_rng(seed)
    model = build_model(input_size=x_train.shape[1], width=width)
    steps = max(1, math.ceil(len(x_train) / batch_size)) * max(1, epochs)
    schedule = keras.optimizers.schedules.CosineDecay(2e-3, decay_steps=steps, alpha=0.02)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=keras.losses.BinaryCrossentropy(),
        metrics=[keras.metrics.BinaryAccuracy(name="acc")],
    )
    weights = np.where(y_train == 1, closed_weight, 1.0).astype(np.float32)
    if sample_weight is not None:
        weights = weights * np.asarray(sample_weight, np.float32)
    # A plain batch loop (train_on_batch) rather than fit(): no tf.data pipeline per epoch.
    for epoch in range(epochs):
        t0 = time.perf_counter()
        x_aug = augment(x_train, rng, strength=aug_strength).astype(np.float32)[..., None]
        order = rng.permutation(len(x_aug))
        losses, accs = [], []
        for start in range(0, len(order), batch_size):
            idx = order[start: start + batch_size]
            with _quiet_keras():
                loss, acc = model.train_on_batch(x_aug[idx], y_train[idx].astype(np.float32),
                                                 sample_weight=weights[idx], return_dict=False)
            losses.append(float(loss))
            accs.append(float(acc))
        line = f"epoch {epoch + 1}/{epochs} loss {np.mean(losses):.4f} train acc {np.mean(accs):.4f}"
        if progress is not None and (epoch == epochs - 1 or epoch % 5 == 0):
            line += progress(model)
        logger.info("%s (%.1fs)", line, time.perf_counter() - t0)
    return model


def logits_of(model: object, x: np.ndarray, batch: int = 1024) -> np.ndarray:
    """The CNN's pre-sigmoid output (float64 [N]) for uint8 crops: what calibration is fitted on."""
    import keras

    head = keras.Model(model.inputs, model.get_layer("logit").output)
    x = np.asarray(x, np.float32)[..., None]
    out = [keras.ops.convert_to_numpy(head([x[i: i + batch]], training=False)).reshape(-1)
           for i in range(0, len(x), batch)]
    return np.concatenate(out).astype(np.float64) if out else np.zeros((0,), np.float64)


def bake_temperature(model: object, temperature: float) -> None:
    """Divide the final logit by `temperature` inside the model, so the exported file serves calibrated P."""
    layer = model.get_layer("logit")
    kernel, bias = layer.get_weights()
    layer.set_weights([kernel / temperature, bias / temperature])


def train(
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    seed: int = datasets.DEFAULT_SEED,
    epochs: int = DEFAULT_EPOCHS,
    extra_examples: str | Path | None = None,
    use_faces: bool = True,
    batch_size: int = DEFAULT_BATCH,
    threads: int = 2,
    max_train: int | None = None,
    width: int = 24,
    aug_strength: float = 1.0,
    closed_weight: float = 1.0,
) -> TrainReport:
    """Train, export and evaluate the eye CNN; returns the report also written to OUT/metrics.json.

    `extra_examples`: a folder laid out closed/ open/ (nested allowed) of labelled eye crops of
    any size; all of them go to training. `max_train` caps the training set (smoke tests).
    """
    from ml.cnn import export_tflite
    from ml.eye_model import EyeModel

    started = time.perf_counter()
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    train_parts: list[_Part] = []
    val_parts: list[_Part] = []
    patch_train, patch_val, val_groups = _eye_patch_parts(data_dir, seed=seed)
    train_parts.append(patch_train)
    val_parts.append(patch_val)
    if use_faces:
        face_parts = _face_eye_parts(data_dir, val_groups)
        if face_parts is not None:
            train_parts.append(face_parts[0])
            val_parts.append(face_parts[1])
    if use_faces and (data_dir / "yawn_eyes").is_dir():  # RGB close-ups: all to training (groups unknown to CEW)
        from ml.devdata import yawn_eyes

        yawn = yawn_eyes(data_dir)
        train_parts.append(_Part("yawn", yawn.x, yawn.y, list(yawn.group), list(yawn.item)))
    if extra_examples is not None:
        if datasets.list_labelled_files(Path(extra_examples)):
            train_parts.append(_extra_part(Path(extra_examples)))
        else:  # a retraining run with no corrections yet is still a valid run
            logger.warning("no extra examples under %s/closed or %s/open", extra_examples, extra_examples)

    counts: dict[str, dict[str, int]] = {}
    for side, parts in (("train", train_parts), ("val", val_parts)):
        for part in parts:
            entry = counts.setdefault(part.name, {})
            entry[f"{side}_closed"] = int(part.y.sum())
            entry[f"{side}_open"] = int((part.y == 0).sum())
    # The split invariant, checked rather than trusted.
    train_groups = {g for p in train_parts if p.name not in ("extra", "yawn") for g in p.groups}
    leaked = train_groups & {g for p in val_parts for g in p.groups}
    if leaked:
        raise RuntimeError(f"group split leaked {len(leaked)} groups, e.g. {sorted(leaked)[:3]}")

    x_train, y_train = _concat(train_parts)
    rng = np.random.default_rng(seed)
    if max_train is not None and len(x_train) > max_train:
        keep = np.sort(rng.choice(len(x_train), size=max_train, replace=False))
        x_train, y_train = x_train[keep], y_train[keep]
    x_val, y_val = _concat(val_parts)
    logger.info("training on %d crops, validating on %d (%s)", len(x_train), len(x_val), counts)

    x_val_f = x_val.astype(np.float32)[..., None]

    def log_val(model: object) -> str:
        m = _metrics_at(_predict(model, x_val_f), y_val)
        return f" | val acc {m.accuracy:.4f} recall {m.recall:.4f}"

    model = fit_arrays(x_train, y_train, seed=seed, epochs=epochs, batch_size=batch_size, threads=threads,
                       width=width, aug_strength=aug_strength, closed_weight=closed_weight, rng=rng,
                       progress=log_val if len(x_val) else None)

    # Calibrate on the validation split: the served file gives calibrated P(closed), which the
    # openness scale and the check band assume (ml.calibration, MODEL_CARD.md).
    temperature = 1.0
    if len(x_val) and 0 < int(y_val.sum()) < len(y_val):
        from ml.calibration import fit_temperature

        temperature = fit_temperature(logits_of(model, x_val), y_val)
        bake_temperature(model, temperature)
    keras_path = out_dir / "eye_cnn.keras"
    with _quiet_keras():
        model.save(keras_path)
    tflite_path = export_tflite(model, out_dir / "eye_cnn.tflite")

    # Validate what we ship: the .tflite through the serving code.
    served = EyeModel(tflite_path)
    metrics_by_source: dict[str, dict] = {}
    offset = 0
    p_all = served.predict(x_val)
    for part in val_parts:
        p = p_all[offset: offset + len(part.x)]
        offset += len(part.x)
        metrics_by_source[part.name] = _metrics_at(p, part.y).to_dict()
    overall = _metrics_at(p_all, y_val).to_dict()
    check = {name: _metrics_at(served.predict(v), y_val).to_dict()
             for name, v in masked_variants(x_val).items()}

    report = TrainReport(
        out_dir=out_dir, keras_path=keras_path, tflite_path=tflite_path, version=served.version,
        seed=seed, epochs=epochs,
        seconds=round(time.perf_counter() - started, 1), counts=counts, metrics=overall,
        metrics_by_source=metrics_by_source, collection_check=check, temperature=round(temperature, 4),
    )
    (out_dir / "metrics.json").write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    return report


def _print_report(report: TrainReport) -> None:
    print(f"trained in {report.seconds:.0f}s, seed {report.seed}, {report.epochs} epochs, model {report.version}")
    for name, c in report.counts.items():
        print(f"  {name}: {c}")
    print("validation (held-out groups), all eye crops, via .tflite:")
    m = report.metrics
    print(Metrics(m["n"], m["tp"], m["fp"], m["tn"], m["fn"]).summary())
    for name, m in report.metrics_by_source.items():
        print(f"  {name}: n={m['n']} accuracy={m['accuracy']:.4f} precision={m['precision']:.4f} "
              f"recall={m['recall']:.4f} F1={m['f1']:.4f}")
    for name, m in report.collection_check.items():
        print(f"  collection check {name}: accuracy={m['accuracy']:.4f} recall={m['recall']:.4f}")
    print(f"wrote {report.keras_path}, {report.tflite_path}, {report.out_dir / 'metrics.json'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.train", description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path, help="folder holding cew/eyes (and faces/)")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--seed", type=int, default=datasets.DEFAULT_SEED)
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS)
    parser.add_argument("--extra", type=Path, default=None, help="extra labelled crops: closed/ open/")
    parser.add_argument("--no-faces", action="store_true", help="skip eyes cropped from the face images")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        report = train(args.data, args.out, seed=args.seed, epochs=args.epochs, extra_examples=args.extra,
                       use_faces=not args.no_faces, threads=args.threads)
    except datasets.DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _print_report(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
