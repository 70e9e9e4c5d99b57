"""Writes for photographers, clients, sessions and photos.

Views, the admin, management commands and the classifier app call these; nothing else writes these
models. Bad input raises `django.core.exceptions.ValidationError` (forms) or `UploadRejected` (files),
each with a reason a photographer can read. One module per concern; this package re-exports the
public names (`from sessions_app import services`).

* `accounts`    — sign-up.
* `clients`     — a photographer's clients.
* `sessions`    — shoot sessions, and deleting one with every stored file.
* `photos`      — the upload checks and storing an original; re-running failed photos.
* `imports`     — files already on disk (`manage.py import_session`).
* `photo_state` — a photo's processing state, moved only by conditional updates (the worker calls these).
* `storage`     — deleting stored files.
"""
from .accounts import user_signup
from .clients import client_create, client_delete, client_get_or_create, client_update
from .imports import ImportOutcome, iter_import_files, photos_import_paths
from .photo_state import (
    photo_state_claim,
    photo_state_done,
    photo_state_fail,
    photo_state_fail_stuck,
    photo_state_give_up,
    photo_state_release,
    photo_state_requeue_stuck,
    photos_state_mark_sent,
    photos_state_mark_unsent,
    photos_state_rerun,
    photos_state_stuck,
    photos_state_touch,
    photos_state_unsent,
    photos_state_waiting,
)
from .photos import (
    UploadRejected,
    UploadResult,
    clean_filename,
    photo_upload,
    photos_mark_seen,
    rejected_upload_record,
    photos_requeue_failed,
)
from .sessions import session_create, session_delete, session_update, sessions_set_strictness
from .storage import storage_delete

__all__ = [
    "ImportOutcome",
    "UploadRejected",
    "UploadResult",
    "clean_filename",
    "client_create",
    "client_delete",
    "client_get_or_create",
    "client_update",
    "iter_import_files",
    "photo_state_claim",
    "photo_state_done",
    "photo_state_fail",
    "photo_state_fail_stuck",
    "photo_state_give_up",
    "photo_state_release",
    "photo_state_requeue_stuck",
    "photo_upload",
    "photos_import_paths",
    "photos_mark_seen",
    "photos_requeue_failed",
    "photos_state_mark_sent",
    "photos_state_mark_unsent",
    "photos_state_rerun",
    "photos_state_stuck",
    "photos_state_touch",
    "photos_state_unsent",
    "photos_state_waiting",
    "session_create",
    "session_delete",
    "session_update",
    "sessions_set_strictness",
    "storage_delete",
    "user_signup",
]
