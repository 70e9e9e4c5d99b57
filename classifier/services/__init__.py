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
from .personal import PersonalModelError, personal_model_accept
from .reanalysis import session_reanalyse
from .training_examples import (
    EyePickError,
    eye_pick_create,
    training_examples_sync,
    training_opt_out_set,
    training_set_export,
)
from .training_runs import (
    TrainingRunError,
    training_run_cancel,
    training_run_create,
    training_run_execute,
    training_run_fail,
    training_runs_fail_stale,
    training_summary_line,
)
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
    "EyePickError",
    "PersonalModelError",
    "TrainingRunError",
    "eye_pick_create",
    "personal_model_accept",
    "session_reanalyse",
    "training_examples_sync",
    "training_opt_out_set",
    "training_run_cancel",
    "training_run_create",
    "training_run_execute",
    "training_run_fail",
    "training_runs_fail_stale",
    "training_set_export",
    "training_summary_line",
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
    "photos_send_unsent",
    "photos_sweep_stuck",
    "prediction_record",
]
