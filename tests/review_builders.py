"""Builders for review/export tests: processed photos with stored predictions, no ML run needed.

Predictions are judged by the real `ml.judge` from the per-eye P(closed) given here, so the stored verdict
matches what the review screen computes at the default strictness (0.5).
"""
from __future__ import annotations

import itertools

from classifier.models import ModelVersion, Prediction
from ml import Thresholds, judge
from sessions_app.models import Photo, PhotoSession
from tests.factories import jpeg_bytes, make_photo

_unique = itertools.count(1)


def unique_jpeg(size=(64, 48)) -> bytes:
    """A small JPEG no other test photo shares (a comment makes the bytes, and the sha256, unique)."""
    return jpeg_bytes(size=size, comment=f"eyespy test photo {next(_unique)}".encode())


def make_unique_photo(session: PhotoSession, **kwargs) -> Photo:
    kwargs.setdefault("data", unique_jpeg())
    return make_photo(session, **kwargs)


def eye(side: str, p_closed: float, *, visible: bool = True, crop: bool = True) -> dict:
    state = "not_visible" if not visible else ("closed" if p_closed >= 0.5 else "partly_closed" if p_closed >= 0.3 else "open")
    return {
        "side": side,
        "state": state,
        "p_closed": p_closed if visible else 0.0,
        "openness": round(1.0 - p_closed, 3) if visible else None,
        "box": {"x0": 0.40 if side == "right" else 0.52, "y0": 0.30, "x1": 0.48 if side == "right" else 0.60, "y1": 0.36},
        "crop_path": "derived/x/eye.png" if crop else "",
    }


def face(left: float, right: float, *, size_px: int = 400, box: dict | None = None, crop: bool = True) -> dict:
    return {
        "box": box or {"x0": 0.3, "y0": 0.2, "x1": 0.7, "y1": 0.7},
        "score": 0.95,
        "size_px": size_px,
        "is_subject": True,
        "eyes": [eye("right", right, crop=crop), eye("left", left, crop=crop)],
    }


def live_model() -> ModelVersion:
    model = ModelVersion.objects.filter(is_live=True).first()
    return model or ModelVersion.objects.create(name="test-live", is_live=True)


def make_judged_photo(
    session: PhotoSession, *, faces: list[dict], name: str | None = None, model: ModelVersion | None = None, **extra
) -> Photo:
    """A processed photo (status done) with a Prediction of `model` (default: the live one)."""
    extra.setdefault("width", 64)
    extra.setdefault("height", 48)
    photo = make_unique_photo(session, name=name, status=Photo.Status.DONE, **extra)
    add_prediction(photo, faces=faces, model=model)
    return photo


def add_prediction(photo: Photo, *, faces: list[dict], model: ModelVersion | None = None) -> Prediction:
    verdict, confidence, reason = judge(faces, Thresholds())
    prediction, _ = Prediction.objects.update_or_create(
        photo=photo,
        model_version=model or live_model(),
        defaults={
            "verdict": verdict.value,
            "confidence": confidence,
            "reason": reason,
            "details": {"verdict": verdict.value, "confidence": confidence, "reason": reason, "faces": faces,
                        "width": photo.width or 64, "height": photo.height or 48},
        },
    )
    return prediction


BLINK = [face(0.95, 0.9)]  # both eyes shut
OPEN = [face(0.05, 0.1)]  # wide awake
BORDERLINE = [face(0.4, 0.1)]  # one eye at 0.4: open at 0.5 strictness, closed when strict
NO_FACES: list[dict] = []
