"""Writes for the classifier: photo intake (store + queue), processing photos, eye zooms, model versions.

Other apps import from here only (`from classifier import services`). Each submodule holds one
concern; this module re-exports the public functions. Keep additions additive.
"""
from .eye_zoom import ZoomState, ZoomUnavailable, eye_points, eye_zoom_make, eye_zoom_request
from .intake import photo_upload, photo_upload_direct, photos_import_paths, photos_requeue_failed
from .model_versions import (
    file_sha256,
    live_model_version,
    model_version_ensure_bundled,
    model_version_ensure_default,
    model_version_promote,
)
from .reanalysis import session_reanalyse
# A local file with a version's weights (bundled, or a checked copy from storage); loads no model. The
# training run's gate scores the live model with it.
from ..worker_model import weights_path as model_version_weights_path
from .processing import (
    SweepReport,
    photo_claim,
    photo_fail,
    photo_process,
    photos_enqueue,
    photos_requeue,
    photos_send_unsent,
    photos_sweep_stuck,
    prediction_record,
)

__all__ = [
    "session_reanalyse",
    "ZoomState",
    "ZoomUnavailable",
    "eye_points",
    "eye_zoom_make",
    "eye_zoom_request",
    "SweepReport",
    "file_sha256",
    "live_model_version",
    "model_version_ensure_bundled",
    "model_version_ensure_default",
    "model_version_promote",
    "model_version_weights_path",
    "photo_claim",
    "photo_fail",
    "photo_process",
    "photo_upload",
    "photo_upload_direct",
    "photos_enqueue",
    "photos_import_paths",
    "photos_requeue",
    "photos_requeue_failed",
    "photos_send_unsent",
    "photos_sweep_stuck",
    "prediction_record",
]
