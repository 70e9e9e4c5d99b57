"""Writes for the learning loop: training examples from corrections, eye picks, training runs, personal models.

Other apps import from here only (`from learning import services`). Each submodule holds one concern; this
module re-exports the public functions.

* `labelling`         — which eyes of a corrected photo become examples, and with which label and tag.
* `training_examples` — syncing examples from corrections, eye picks, opt-outs, the dataset export.
* `training_runs`     — start, run, cancel and fail retraining runs (queue `training`).
* `personal`          — accepting a photographer's personal strictness.
"""
from .personal import PersonalModelError, personal_model_accept
from .training_examples import (
    EyePickError,
    eye_pick_create,
    training_examples_sync,
    training_examples_wanted,
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

__all__ = [
    "EyePickError",
    "PersonalModelError",
    "TrainingRunError",
    "eye_pick_create",
    "personal_model_accept",
    "training_examples_sync",
    "training_examples_wanted",
    "training_opt_out_set",
    "training_run_cancel",
    "training_run_create",
    "training_run_execute",
    "training_run_fail",
    "training_runs_fail_stale",
    "training_set_export",
    "training_summary_line",
]
