"""Builders for the learning-loop tests: a small real base data set, a small real model, photos of CEW faces.

Everything is read from ../shared/data into temp folders (never into the repo). Kept small so a test
trains in seconds on a shared 2-core machine: ~1/4 of the CEW eye patches, no face-derived crops,
one TensorFlow thread.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from django.core.files import File

from classifier.models import ModelVersion
from classifier.services.model_versions import file_sha256, model_version_promote

SMALL_STEP = 5  # every 5th CEW eye patch


def small_base_data(shared_data: Path, root: Path) -> Path:
    for cls in ("closed", "open"):
        src = shared_data / "cew" / "eyes" / cls
        dst = root / "cew" / "eyes" / cls
        dst.mkdir(parents=True, exist_ok=True)
        for f in sorted(src.iterdir())[::SMALL_STEP]:
            shutil.copy(f, dst / f.name)
    return root


def learning_settings(settings, data_dir: Path, var_dir: Path) -> None:
    settings.VAR_DIR = var_dir
    settings.EYESPY_TRAINING_DATA_DIR = data_dir
    settings.EYESPY_TRAINING_USE_FACES = False
    settings.EYESPY_TRAINING_THREADS = 1
    settings.EYESPY_TRAINING_EPOCHS_FINETUNE = 3
    settings.EYESPY_TRAINING_EPOCHS_SCRATCH = 3
    settings.EYESPY_TRAINING_FROZEN_PERCENT = 50
    settings.EYESPY_GATE_MIN_FROZEN = 4  # the loop tests' frozen sessions hold a handful of eyes


@dataclass(frozen=True)
class SmallModel:
    tflite: Path
    keras: Path


def train_small_model(data_dir: Path, out: Path, *, epochs: int = 3, seed: int = 11) -> SmallModel:
    from ml import retrain

    base = retrain.base_split(data_dir, use_faces=False)
    fitted = retrain.fit(base.train, out, epochs=epochs, seed=seed, threads=1)
    return SmallModel(fitted.tflite_path, fitted.keras_path)


def register_live(model: SmallModel, name: str = "small-v1") -> ModelVersion:
    version = ModelVersion(name=name, checksum=file_sha256(model.tflite))
    with model.tflite.open("rb") as fh:
        version.weights.save("eye_cnn.tflite", File(fh), save=False)
    with model.keras.open("rb") as fh:
        version.keras_weights.save("eye_cnn.keras", File(fh), save=False)
    version.save()
    return model_version_promote(version=version)


def two_sessions(owner):
    """One session on the training side, one frozen for validation (the split is by session)."""
    from learning.services.labelling import session_is_frozen
    from tests.factories import make_session

    train = frozen = None
    while train is None or frozen is None:
        s = make_session(owner)
        if session_is_frozen(s.uuid):
            frozen = frozen or s
        else:
            train = train or s
    return train, frozen
