"""Retraining API for the web app's learning loop: base split as arrays, fit (fine-tune or scratch), evaluate, gate.

`ml.train.train` is the research entry point (folders in, a report out). The learning loop needs more
control: arrays of correction crops next to the base data, progress after every epoch (with a way to
stop), starting from the live model's Keras weights, and the candidate and the live `.tflite` scored
on the *same* frozen arrays. Pure library: TensorFlow is imported only inside `fit`; evaluation runs
the exported `.tflite` through LiteRT, exactly as the worker will serve it.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ml import datasets
from ml.cnn import INPUT_SIZE
from ml.metrics import binary_metrics

logger = logging.getLogger(__name__)

SCRATCH_LEARNING_RATE = 2e-3
FINETUNE_LEARNING_RATE = 5e-4


class Stop(Exception):
    """Raised by an `on_epoch` callback to stop training (a cancelled run); nothing is exported."""


@dataclass(frozen=True)
class Arrays:
    x: np.ndarray  # uint8 [N, S, S]
    y: np.ndarray  # int64 [N], 1 = closed
    # float32 [N] P(closed) to learn instead of y (the live model's own calls on uncorrected crops); None: y
    soft: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.y)

    @classmethod
    def empty(cls, size: int = INPUT_SIZE) -> "Arrays":
        return cls(np.zeros((0, size, size), np.uint8), np.zeros((0,), np.int64))

    @classmethod
    def join(cls, parts: list["Arrays"]) -> "Arrays":
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        soft = (np.concatenate([p.targets() for p in parts]) if any(p.soft is not None for p in parts) else None)
        return cls(np.concatenate([p.x for p in parts]), np.concatenate([p.y for p in parts]), soft)

    def targets(self) -> np.ndarray:
        """What the loss compares the output with: the soft targets where given, else the labels."""
        return (self.soft if self.soft is not None else self.y).astype(np.float32)

    def counts(self) -> dict[str, int]:
        return {"closed": int(self.y.sum()), "open": int((self.y == 0).sum())}


def research_data_present(data_dir: str | Path | None) -> bool:
    """True when `data_dir` holds the research eye patches (cew/eyes/{closed,open}); an optional extra."""
    if not data_dir or not str(data_dir).strip():
        return False
    eyes = Path(data_dir) / "cew" / "eyes"
    return all((eyes / label).is_dir() and any((eyes / label).iterdir()) for label in ("closed", "open"))


@dataclass(frozen=True)
class BaseSplit:
    train: Arrays
    val: Arrays
    counts: dict[str, dict[str, int]]  # source -> train/val closed/open


def base_split(data_dir: str | Path, *, seed: int = datasets.DEFAULT_SEED, use_faces: bool = True,
               max_train: int | None = None) -> BaseSplit:
    """The base data as arrays, split by group exactly like `ml.train` (same seed -> same validation set)."""
    from ml.train import _eye_patch_parts, _face_eye_parts

    data_dir = Path(data_dir)
    patch_train, patch_val, val_groups = _eye_patch_parts(data_dir, seed=seed)
    train_parts, val_parts = [patch_train], [patch_val]
    if use_faces:
        face_parts = _face_eye_parts(data_dir, val_groups)
        if face_parts is not None:
            train_parts.append(face_parts[0])
            val_parts.append(face_parts[1])
    counts: dict[str, dict[str, int]] = {}
    for side, parts in (("train", train_parts), ("val", val_parts)):
        for part in parts:
            entry = counts.setdefault(part.name, {})
            entry[f"{side}_closed"] = int(part.y.sum())
            entry[f"{side}_open"] = int((part.y == 0).sum())
    train = Arrays.join([Arrays(p.x, p.y) for p in train_parts])
    if max_train is not None and len(train) > max_train:
        keep = np.sort(np.random.default_rng(seed).choice(len(train), size=max_train, replace=False))
        train = Arrays(train.x[keep], train.y[keep])
    return BaseSplit(train=train, val=Arrays.join([Arrays(p.x, p.y) for p in val_parts]), counts=counts)


# --------------------------------------------------------------------------- evaluation


def calibration_error(p: np.ndarray, y: np.ndarray, *, bins: int = 10) -> float:
    """Expected calibration error of P(closed): the bin-weighted gap between confidence and accuracy."""
    p = np.asarray(p, dtype=np.float64)
    y = np.asarray(y).astype(bool)
    if p.size == 0:
        return 0.0
    predicted = p >= 0.5
    confidence = np.where(predicted, p, 1.0 - p)
    correct = predicted == y
    edges = np.linspace(0.5, 1.0, bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = index == b
        if mask.any():
            total += mask.mean() * abs(float(confidence[mask].mean()) - float(correct[mask].mean()))
    return round(total, 4)


def score(p: np.ndarray, y: np.ndarray, *, threshold: float = 0.5) -> dict:
    """accuracy, precision, recall, F1, confusion (tp/fp/tn/fn), ECE and class counts for P(closed) vs truth."""
    m = binary_metrics(y, np.asarray(p) >= threshold).to_dict()
    m["ece"] = calibration_error(p, y)
    m["closed"] = int(np.asarray(y).sum())
    m["open"] = int(len(y) - m["closed"])
    return m


def evaluate_arrays(model_path: str | Path, data: Arrays, *, threshold: float = 0.5) -> dict:
    """Score a `.tflite` on eye crops through the serving code (LiteRT)."""
    from ml.eye_model import EyeModel

    if not len(data):
        return score(np.zeros((0,)), np.zeros((0,), np.int64), threshold=threshold)
    model = EyeModel(model_path)
    return score(model.predict(data.x), data.y, threshold=threshold)


# --------------------------------------------------------------------------- the gate


def wilson_interval(successes: int, n: int, *, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion (sane at small n and at 0 or n successes)."""
    if n <= 0:
        return (0.0, 1.0)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4))


def _interval_text(m: dict) -> str:
    correct = int(m.get("tp", 0)) + int(m.get("tn", 0))
    lo, hi = wilson_interval(correct, int(m.get("n", 0)))
    return f"{m['accuracy']:.2f} (95 % CI {lo:.2f}-{hi:.2f})"


@dataclass(frozen=True)
class GateResult:
    passed: bool
    reason: str
    base_delta: float | None  # candidate - live accuracy on the base validation split
    corrections_delta: float | None  # same on the frozen corrections share (None: too few to judge)
    tolerance: float
    base_set: str = "base validation set"  # what the base check was scored on
    n: dict = field(default_factory=dict)  # {"base": n, "corrections": n}
    intervals: dict = field(default_factory=dict)  # {"candidate"|"live": {"base"|"corrections": [lo, hi]}}
    min_frozen: int = 0
    report: str = ""  # the gate's findings, one line per set, for the pages and the confirmation

    def to_dict(self) -> dict:
        return asdict(self)


def gate(candidate: dict[str, dict], live: dict[str, dict], *, tolerance: float, min_frozen: int = 0,
         base_set: str = "base validation set") -> GateResult:
    """Go live only if not worse on the base set (within `tolerance`) and not worse on the frozen corrections.

    `candidate` / `live`: {"base": score(...), "corrections": score(...)} on the same frozen arrays. With fewer
    than `min_frozen` frozen corrections nothing is decided on them: the candidate is refused (the live model
    stays) with "not enough frozen examples yet", whatever its figures, rather than judged on noise.
    Every figure comes with its n and a 95 % Wilson interval.
    """
    n_base = int(candidate["base"].get("n", 0))
    n_corr = int(candidate.get("corrections", {}).get("n", 0))
    intervals = {side: {name: list(wilson_interval(int(m.get("tp", 0)) + int(m.get("tn", 0)), int(m.get("n", 0))))
                        for name, m in scores.items()} for side, scores in (("candidate", candidate), ("live", live))}
    lines = []
    if n_base:
        lines.append(f"{base_set}, n={n_base}: live {_interval_text(live['base'])} -> "
                     f"candidate {_interval_text(candidate['base'])}")
    else:
        lines.append(f"{base_set}: empty")
    if n_corr:
        lines.append(f"frozen corrections, n={n_corr}: live {_interval_text(live['corrections'])} -> "
                     f"candidate {_interval_text(candidate['corrections'])}")
    else:
        lines.append("frozen corrections: none yet")
    report = "\n".join(lines)
    base_delta = round(candidate["base"]["accuracy"] - live["base"]["accuracy"], 4) if n_base else None
    enough = n_corr >= max(1, min_frozen)
    corr_delta = (round(candidate["corrections"]["accuracy"] - live["corrections"]["accuracy"], 4)
                  if n_corr and enough else None)
    common = dict(base_delta=base_delta, corrections_delta=corr_delta, tolerance=tolerance, base_set=base_set,
                  n={"base": n_base, "corrections": n_corr}, intervals=intervals, min_frozen=min_frozen,
                  report=report)
    if min_frozen and n_corr < min_frozen:
        return GateResult(False, f"not enough frozen examples yet ({n_corr} of {min_frozen} needed): the live "
                                 "model stays", **common)
    problems = []
    if base_delta is not None and base_delta < -tolerance:
        problems.append(f"worse on the {base_set} ({live['base']['accuracy']:.4f} -> "
                        f"{candidate['base']['accuracy']:.4f}, tolerance {tolerance:.4f})")
    if corr_delta is not None and corr_delta < 0:
        problems.append(f"worse on the frozen corrections ({live['corrections']['accuracy']:.4f} -> "
                        f"{candidate['corrections']['accuracy']:.4f})")
    if problems:
        return GateResult(False, "; ".join(problems), **common)
    if corr_delta is None:
        note = f"not worse on the {base_set} and no frozen corrections yet"
    else:
        note = f"{base_set} {base_delta if base_delta is not None else 0:+.4f}, corrections {corr_delta:+.4f}"
    return GateResult(True, note, **common)


# --------------------------------------------------------------------------- training


@dataclass(frozen=True)
class FitResult:
    keras_path: Path
    tflite_path: Path
    version: str  # sha256[:12] of the .tflite (EyeModel.version)
    epochs: int
    seconds: float
    init: str  # "scratch" or the Keras file fine-tuned from
    history: list[dict] = field(default_factory=list)
    temperature: float | None = None  # baked into the logit (calibrated P(closed)); None: not calibrated


EpochCallback = Callable[[int, int, dict], None]


def epochs_for(n: int, *, epochs: int, min_steps: int, batch_size: int = 64) -> int:
    """`epochs`, raised so a small set still gets `min_steps` optimiser steps (40 crops x 4 epochs = 4 steps)."""
    batches = max(1, math.ceil(n / batch_size))
    return max(int(epochs), math.ceil(min_steps / batches))


def fit(
    train: Arrays,
    out_dir: str | Path,
    *,
    init_keras: str | Path | None = None,
    epochs: int,
    seed: int = datasets.DEFAULT_SEED,
    sample_weight: np.ndarray | None = None,
    learning_rate: float | None = None,
    batch_size: int = 64,
    threads: int = 2,
    aug_strength: float = 1.0,
    on_epoch: EpochCallback | None = None,
    calibrate: Arrays | None = None,
    freeze_batchnorm: bool | None = None,
) -> FitResult:
    """Train the eye CNN on `train` (fine-tune `init_keras`, or from scratch) and export `.keras` + `.tflite`.

    `on_epoch(epoch, epochs, stats)` runs after every epoch (1-based); raising `Stop` (or anything) from it
    ends training before anything is written. Seeded: same inputs, same seed -> same weights.
    `freeze_batchnorm` (fine-tunes only): keep BatchNorm's statistics as saved; None: only when they are folded
    ones (`has_folded_batchnorm`). `calibrate`: held-out crops (both classes) to fit a temperature on, baked into the exported model the way
    `ml.train` does, so the served P(closed) stays calibrated (the openness scale and the check band assume it).
    """
    from ml.cnn import build_model, configure_tensorflow, export_tflite
    from ml.eye_model import EyeModel
    from ml.train import _quiet_keras, augment

    if not len(train):
        raise ValueError("nothing to train on")
    started = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    configure_tensorflow(threads=threads, seed=seed)
    import keras

    if init_keras is not None:
        with _quiet_keras():
            model = keras.models.load_model(init_keras, compile=False)
        lr = learning_rate or FINETUNE_LEARNING_RATE
    else:
        model = build_model(input_size=INPUT_SIZE)
        lr = learning_rate or SCRATCH_LEARNING_RATE
    steps = max(1, math.ceil(len(train) / batch_size)) * max(1, epochs)
    # BatchNorm's running statistics must settle within the run: a short run from scratch with the default
    # momentum 0.99 would serve statistics still close to their initial values.
    momentum = min(0.99, max(0.5, 1.0 - 20.0 / steps))
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = momentum
    if init_keras is not None and (freeze_batchnorm or (freeze_batchnorm is None and has_folded_batchnorm(model))):
        # Keras runs a frozen BatchNormalization in inference mode: a few hundred crops give noisy batch statistics,
        # and a folded BatchNorm (ml.keras_from_tflite) is valid only with the statistics it was saved with.
        for layer in model.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.trainable = False
    model.compile(
        optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(lr, decay_steps=steps, alpha=0.02)),
        loss=keras.losses.BinaryCrossentropy(),
        metrics=[_HardTargetAccuracy(name="acc")],
    )
    weights = (np.ones(len(train), np.float32) if sample_weight is None
               else np.asarray(sample_weight, np.float32))
    targets = train.targets()
    rng = np.random.default_rng(seed)
    history: list[dict] = []
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        x_aug = augment(train.x, rng, strength=aug_strength).astype(np.float32)[..., None]
        order = rng.permutation(len(x_aug))
        losses, accs = [], []
        for start in range(0, len(order), batch_size):
            idx = order[start: start + batch_size]
            with _quiet_keras():
                loss, acc = model.train_on_batch(x_aug[idx], targets[idx],
                                                 sample_weight=weights[idx], return_dict=False)
            losses.append(float(loss))
            accs.append(float(acc))
        stats = {"epoch": epoch, "loss": round(float(np.mean(losses)), 4),
                 "train_acc": round(float(np.mean(accs)), 4), "seconds": round(time.perf_counter() - t0, 2)}
        history.append(stats)
        if on_epoch is not None:
            on_epoch(epoch, epochs, stats)

    temperature = _calibrate(model, calibrate)
    keras_path = out_dir / "eye_cnn.keras"
    with _quiet_keras():
        model.save(keras_path)
    tflite_path = export_tflite(model, out_dir / "eye_cnn.tflite")
    return FitResult(keras_path=keras_path, tflite_path=tflite_path, version=EyeModel(tflite_path).version,
                     epochs=epochs, seconds=round(time.perf_counter() - started, 1),
                     init=str(init_keras) if init_keras is not None else "scratch", history=history,
                     temperature=temperature)


def _HardTargetAccuracy(**kwargs):  # noqa: N802 - a class made on demand, so Keras is imported lazily
    """Binary accuracy against rounded targets: soft targets (0.97) would otherwise never count as right."""
    import keras

    class HardTargetAccuracy(keras.metrics.BinaryAccuracy):
        def update_state(self, y_true, y_pred, sample_weight=None):
            return super().update_state(keras.ops.round(y_true), y_pred, sample_weight=sample_weight)

    return HardTargetAccuracy(**kwargs)


def has_folded_batchnorm(model: object) -> bool:
    """True for a model rebuilt from a `.tflite` (ml.keras_from_tflite): every BatchNorm is gamma 1, variance ~1."""
    import keras

    layers = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    if not layers:
        return False
    for layer in layers:
        gamma, _beta, _mean, variance = layer.get_weights()
        if not (np.all(gamma == 1.0) and np.allclose(variance, 1.0 - layer.epsilon, atol=1e-6)):
            return False
    return True


def _calibrate(model: object, data: Arrays | None) -> float | None:
    """Fit and bake a temperature on `data`; None when it can't (no data, one class, no `logit` layer)."""
    from ml.calibration import fit_temperature
    from ml.train import bake_temperature, logits_of

    if data is None or not len(data) or not 0 < int(data.y.sum()) < len(data):
        return None
    try:
        model.get_layer("logit")
    except ValueError:  # a model from before the logit layer was named: serve it uncalibrated, as it was
        logger.warning("the model has no 'logit' layer: not calibrated")
        return None
    temperature = fit_temperature(logits_of(model, data.x), data.y)
    bake_temperature(model, temperature)
    return round(float(temperature), 4)
