"""Writes for the classifier: inspecting uploads, processing photos, model versions.

Other apps import from here only (`from classifier import services`). Each submodule holds one
concern; this module re-exports the public functions. Keep additions additive.
"""
from .corrections import (
    CorrectionError,
    correction_create,
    correction_undo,
    corrections_bulk_create,
    corrections_undo,
    session_undo_last,
    SessionUndo,
)
from .eye_zoom import ZoomState, ZoomUnavailable, eye_zoom_make, eye_zoom_request
from .inspection import ImageInfo, UnreadableImage, inspect_upload
from .model_versions import (
    live_model_version,
    model_version_ensure_bundled,
    model_version_ensure_default,
    model_version_promote,
)
from .processing import (
    SweepReport,
    photo_claim,
    photo_fail,
    photo_process,
    photos_enqueue,
    photos_requeue,
    photos_sweep_stuck,
    prediction_record,
)

__all__ = [
    "CorrectionError",
    "correction_create",
    "correction_undo",
    "corrections_bulk_create",
    "corrections_undo",
    "session_undo_last",
    "SessionUndo",
    "ImageInfo",
    "ZoomState",
    "ZoomUnavailable",
    "eye_zoom_make",
    "eye_zoom_request",
    "SweepReport",
    "UnreadableImage",
    "inspect_upload",
    "live_model_version",
    "model_version_ensure_bundled",
    "model_version_ensure_default",
    "model_version_promote",
    "photo_claim",
    "photo_fail",
    "photo_process",
    "photos_enqueue",
    "photos_requeue",
    "photos_sweep_stuck",
    "prediction_record",
]
