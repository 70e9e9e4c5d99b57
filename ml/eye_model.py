"""Serve the eye-state CNN (`.tflite`) through LiteRT: P(closed) for a batch of eye crops.

Never imports TensorFlow: a worker with this model loaded stays around 100 MB.
The interpreter runs single-threaded (one worker process per core).
"""
from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

DEFAULT_MODEL_PATH = Path(__file__).resolve().parent / "models" / "eye_cnn.tflite"


class ModelError(ValueError):
    """The model file is missing or is not a usable eye-state model."""


class EyeModel:
    """A loaded eye-state model. `predict(crops uint8 [N,S,S]) -> float32 [N]` = P(closed)."""

    def __init__(self, path: str | Path) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.path = Path(path)
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise ModelError(f"cannot read eye model {self.path}: {exc.strerror or exc}") from exc
        self.version = hashlib.sha256(data).hexdigest()[:12]
        try:
            self._interpreter = Interpreter(model_content=data, num_threads=1)
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"not a TFLite model: {self.path}") from exc
        inp = self._interpreter.get_input_details()
        out = self._interpreter.get_output_details()
        if len(inp) != 1 or len(out) != 1 or len(inp[0]["shape"]) != 4 or inp[0]["shape"][1] != inp[0]["shape"][2]:
            raise ModelError(f"{self.path} does not take square single-channel crops")
        self._input_index = inp[0]["index"]
        self._output_index = out[0]["index"]
        self.input_size = int(inp[0]["shape"][1])
        self._batch = 0
        # The interpreter is not thread-safe; a lock keeps a model shared by threads correct.
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"EyeModel({self.path.name}, version={self.version}, input_size={self.input_size})"

    def predict(self, crops: np.ndarray) -> np.ndarray:
        """P(closed) per crop. crops: uint8 [N,S,S] (or [S,S] for one crop, or [N,S,S,1])."""
        arr = np.asarray(crops)
        if arr.ndim == 2:
            arr = arr[None]
        if arr.ndim == 4 and arr.shape[-1] == 1:
            arr = arr[..., 0]
        size = self.input_size
        if arr.ndim != 3 or arr.shape[1:] != (size, size):
            raise ModelError(f"eye crops must be [N,{size},{size}], got {list(np.shape(crops))}")
        n = arr.shape[0]
        if n == 0:
            return np.zeros((0,), dtype=np.float32)
        x = arr.astype(np.float32)[..., None]
        with self._lock:
            if n != self._batch:
                self._interpreter.resize_tensor_input(self._input_index, [n, size, size, 1])
                self._interpreter.allocate_tensors()
                self._batch = n
            self._interpreter.set_tensor(self._input_index, x)
            self._interpreter.invoke()
            out = self._interpreter.get_tensor(self._output_index)
        return np.clip(out.reshape(n).astype(np.float32), 0.0, 1.0)


_CACHE: dict[tuple[Path, int, int], EyeModel] = {}
_CACHE_LOCK = threading.Lock()


def load_model(path: str | Path | None = None) -> EyeModel:
    """The eye model at `path` (default: the committed one), loaded once per process and file.

    Keyed by path, size and mtime, so a model file replaced in place (a retrained version) is reloaded.
    """
    resolved = Path(path).resolve() if path is not None else DEFAULT_MODEL_PATH
    try:
        stat = resolved.stat()
    except OSError as exc:
        raise ModelError(f"cannot read eye model {resolved}: {exc.strerror or exc}") from exc
    key = (resolved, stat.st_size, stat.st_mtime_ns)
    with _CACHE_LOCK:
        model = _CACHE.get(key)
        if model is None:
            model = EyeModel(resolved)
            _CACHE[key] = model
            logger.info("loaded %r", model)
        return model
