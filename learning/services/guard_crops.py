"""The guard against forgetting that needs no outside data: the live model's confident calls on the photographer's
own uncorrected eye crops.

A fine-tune on a few dozen corrected eyes would drift wherever nothing holds it. Without the research data set
(which a photographer never has, and which we may not ship), what holds it is the live model itself: eyes from
photos nobody corrected, cut by the same pipeline the corrections are cut by, with the live model's P(closed)
as a soft target (distillation). Only confident calls are kept (P <= GUARD_CONFIDENT or >= 1 - GUARD_CONFIDENT):
an unsure call taught back to the model would teach it nothing true.

A deterministic share of the photos (by photo, not by session: these crops carry no correction, so a session
may straddle both sides) is kept for the gate: "does the candidate still agree with the live model where the
live model was sure", scored on crops the candidate never trained on.

Runs on the training worker (decodes originals, runs the face pipeline), never in the web process.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage

from classifier.models import Correction
from sessions_app.models import Photo

from .training_examples import opted_out_session_ids

logger = logging.getLogger(__name__)

GUARD_CONFIDENT = 0.1
GUARD_VALIDATION_PERCENT = 20


@dataclass(frozen=True)
class GuardSet:
    train: object  # ml.retrain.Arrays, with soft targets
    val: object  # ml.retrain.Arrays, labels = the live model's calls
    photos: int  # photos read
    eyes: int  # visible eyes found
    kept: int  # confident ones kept (train + val)

    def to_dict(self) -> dict:
        return {"photos": self.photos, "eyes": self.eyes, "kept": self.kept, "train": len(self.train),
                "validation": len(self.val)}


def guard_photo_ids(*, limit: int) -> list[int]:
    """Up to `limit` analysed photos with no correction, from sessions still in training, spread evenly by id."""
    out_sessions, out_owners = opted_out_session_ids()
    ids = list(Photo.objects.filter(status=Photo.Status.DONE)
               .exclude(id__in=Correction.objects.values("photo_id"))
               .exclude(session_id__in=out_sessions).exclude(session__owner_id__in=out_owners)
               .order_by("id").values_list("id", flat=True))
    if len(ids) <= limit:
        return ids
    step = len(ids) / limit
    return [ids[int(i * step)] for i in range(limit)]


def is_guard_validation(photo_uuid) -> bool:
    digest = hashlib.sha256(f"eyespy-guard:{photo_uuid}".encode()).hexdigest()
    return int(digest[:8], 16) % 100 < GUARD_VALIDATION_PERCENT


def guard_set(*, model_path: Path, limit: int | None = None) -> GuardSet:
    """The guard crops of up to `limit` uncorrected photos (setting EYESPY_TRAINING_GUARD_PHOTOS)."""
    import numpy as np

    from ml.eye_model import EyeModel
    from ml.imaging import ImageError, decode
    from ml.retrain import Arrays
    from ml.training_crops import cut_eye_crops

    limit = settings.EYESPY_TRAINING_GUARD_PHOTOS if limit is None else limit
    crops: list = []
    held: list[bool] = []
    photos = Photo.objects.filter(id__in=guard_photo_ids(limit=limit)).only("id", "uuid", "original").order_by("id")
    read = 0
    for photo in photos:
        try:
            with default_storage.open(photo.original.name, "rb") as fh:
                found = cut_eye_crops(decode(fh.read(), max_pixels=settings.EYESPY_MAX_PIXELS))
        except (ImageError, OSError) as exc:  # one unreadable original costs its crops, not the run
            logger.warning("guard crops: photo %s unreadable: %s", photo.pk, exc)
            continue
        read += 1
        validation = is_guard_validation(photo.uuid)
        for face in found:
            for eye in face.eyes:
                if eye.visible:
                    crops.append(eye.pixels)
                    held.append(validation)
    if not crops:
        return GuardSet(Arrays.empty(), Arrays.empty(), read, 0, 0)
    x = np.stack(crops).astype(np.uint8)
    p = EyeModel(model_path).predict(x).astype(np.float32)
    sure = (p <= GUARD_CONFIDENT) | (p >= 1.0 - GUARD_CONFIDENT)
    held_arr = np.asarray(held, dtype=bool)
    y = (p >= 0.5).astype(np.int64)

    def part(mask):
        idx = np.flatnonzero(mask & sure)
        return Arrays(x[idx], y[idx], p[idx])

    return GuardSet(part(~held_arr), part(held_arr), read, len(x), int(sure.sum()))
