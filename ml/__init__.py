"""Eye Spy's pure-Python eye-state library: photo -> faces -> eyes -> P(closed) -> verdict.

Never imports Django. Submodules load lazily (PEP 562) so `import ml` is cheap: the face
models, LiteRT and numpy-heavy code load on first use, and TensorFlow only in ml.train.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ml.types import Box, EyeResult, EyeState, FaceResult, PhotoAnalysis, Thresholds, Verdict

_LAZY = {
    "decode": "ml.imaging",
    "DecodedImage": "ml.imaging",
    "ImageError": "ml.imaging",
    "make_derivatives": "ml.imaging",
    "analyse": "ml.analysis",
    "analyse_batch": "ml.analysis",
    "judge": "ml.verdict",
    "judgement": "ml.verdict",
    "verdict_from_faces": "ml.verdict",
    "check_reasons": "ml.verdict",
    "session_baseline": "ml.openness",
    "relative_openness": "ml.openness",
    "narrower_than_usual": "ml.openness",
    "load_model": "ml.eye_model",
    "EyeModel": "ml.eye_model",
    "DEFAULT_MODEL_PATH": "ml.eye_model",
}

__all__ = [
    "Box", "EyeResult", "EyeState", "FaceResult", "PhotoAnalysis", "Thresholds", "Verdict",
    *_LAZY,
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from ml.analysis import analyse, analyse_batch
    from ml.eye_model import DEFAULT_MODEL_PATH, EyeModel, load_model
    from ml.imaging import DecodedImage, ImageError, decode, make_derivatives
    from ml.openness import narrower_than_usual, relative_openness, session_baseline
    from ml.verdict import check_reasons, judge, judgement, verdict_from_faces


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ml' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
