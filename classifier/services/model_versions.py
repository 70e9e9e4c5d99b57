"""Which eye model is live, and the bundled default that ships with the code.

The bundled model (ml/models/eye_cnn.tflite) becomes a ModelVersion named "bundled-<sha12>" the first
time anything asks for the live model. Its weights are copied into storage like a trained model's, so
a worker on another machine can always load the live version from storage alone. So is its Keras file
(ml/models/eye_cnn.keras, the same weights: `ml.keras_from_tflite`), which a retraining run fine-tunes.
"""
from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from django.core.files import File
from django.db import IntegrityError, transaction

from classifier.models import ModelVersion

logger = logging.getLogger(__name__)

BUNDLED_PREFIX = "bundled-"
# Where the CNN helper may leave the bundled model's evaluation, next to the weights (first found wins).
_METRICS_NAMES = ("{stem}.metrics.json", "metrics.json", "MODEL_CARD.json")


def bundled_model_path() -> Path:
    from ml.eye_model import DEFAULT_MODEL_PATH  # light: no interpreter is created

    return DEFAULT_MODEL_PATH


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def bundled_metrics(model_path: Path) -> dict:
    """The bundled model's metrics from a JSON file next to it, or {} when there is none."""
    for pattern in _METRICS_NAMES:
        candidate = model_path.parent / pattern.format(stem=model_path.stem)
        if not candidate.is_file():
            continue
        try:
            data = json.loads(candidate.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            logger.warning("ignoring unreadable model metrics file %s", candidate)
            continue
        if isinstance(data, dict):
            metrics = data.get("metrics", data)
            return metrics if isinstance(metrics, dict) else {}
    return {}


def bundled_keras_path(model_path: Path) -> Path | None:
    """The Keras file shipped beside a bundled `.tflite` (same stem), or None."""
    path = model_path.with_suffix(".keras")
    return path if path.is_file() else None


def _attach_bundled_keras(version: ModelVersion, model_path: Path) -> None:
    """A bundled version registered before its Keras file shipped gets it now (fine-tuning needs it)."""
    keras_path = bundled_keras_path(model_path)
    if version.keras_weights or keras_path is None:
        return
    with keras_path.open("rb") as fh:
        version.keras_weights.save(keras_path.name, File(fh), save=False)
    ModelVersion.objects.filter(pk=version.pk, keras_weights="").update(keras_weights=version.keras_weights.name)
    logger.info("attached the bundled Keras weights to %s", version.name)


def model_version_ensure_bundled(*, model_path: Path | None = None) -> ModelVersion:
    """The ModelVersion for the bundled weights file, created (weights copied to storage) if new."""
    path = model_path or bundled_model_path()
    checksum = file_sha256(path)
    name = f"{BUNDLED_PREFIX}{checksum[:12]}"
    existing = ModelVersion.objects.filter(name=name).first()
    if existing is not None:
        _attach_bundled_keras(existing, path)
        return existing
    version = ModelVersion(
        name=name,
        checksum=checksum,
        metrics=bundled_metrics(path),
        notes=f"Bundled with the code ({path.name}).",
    )
    # Storage write first, row second: a row never points at weights that aren't there.
    with path.open("rb") as fh:
        version.weights.save(path.name, File(fh), save=False)
    keras_path = bundled_keras_path(path)
    if keras_path is not None:
        with keras_path.open("rb") as fh:
            version.keras_weights.save(keras_path.name, File(fh), save=False)
    try:
        with transaction.atomic():
            version.save()
    except IntegrityError:
        # Another process created it between our check and our insert.
        version.weights.delete(save=False)
        if version.keras_weights:
            version.keras_weights.delete(save=False)
        return ModelVersion.objects.get(name=name)
    logger.info("registered bundled eye model %s", name)
    return version


@transaction.atomic
def model_version_promote(*, version: ModelVersion) -> ModelVersion:
    """Make `version` the live one. Workers notice on their next task and reload."""
    # Lock the live row so two promotions queue up instead of tripping the one-live constraint.
    list(ModelVersion.objects.select_for_update().filter(is_live=True))
    ModelVersion.objects.filter(is_live=True).exclude(pk=version.pk).update(is_live=False)
    ModelVersion.objects.filter(pk=version.pk).update(is_live=True)
    version.is_live = True
    logger.info("model version %s is now live", version.name)
    return version


def live_model_version() -> ModelVersion:
    """The live ModelVersion; the bundled default becomes live when none is."""
    live = ModelVersion.objects.filter(is_live=True).first()
    if live is not None:
        return live
    bundled = model_version_ensure_bundled()
    try:
        return model_version_promote(version=bundled)
    except IntegrityError:
        # Someone else promoted a version at the same moment: theirs is live.
        return ModelVersion.objects.get(is_live=True)


def model_version_ensure_default() -> tuple[ModelVersion, bool]:
    """Ensure a live model after a deploy. Returns (live version, changed?).

    No live model -> the bundled one goes live. A live *bundled* model whose file changed in the code
    is replaced by the new bundled file (the old one stays as its parent). A trained live model is
    never replaced here.
    """
    live = ModelVersion.objects.filter(is_live=True).first()
    bundled = model_version_ensure_bundled()
    if live is None:
        return model_version_promote(version=bundled), True
    if live.pk == bundled.pk or not live.name.startswith(BUNDLED_PREFIX):
        return live, False
    if bundled.parent_id is None:
        ModelVersion.objects.filter(pk=bundled.pk).update(parent=live)
        bundled.parent = live
    return model_version_promote(version=bundled), True
