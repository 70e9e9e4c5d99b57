"""Writes for photographers, clients, sessions and photos.

Views, the admin, management commands and the apps above (classifier, review, galleries, learning) call
these; nothing else writes these models, and this app imports none of those apps. Bad input raises
`django.core.exceptions.ValidationError` (forms) or `UploadRejected` (files), each with a reason a
photographer can read. One module per concern; this package re-exports the public names
(`from sessions_app import services`).

* `accounts`    — sign-up.
* `clients`     — a photographer's clients.
* `sessions`    — shoot sessions, and deleting one with every stored file.
* `inspection`  — what an uploaded file is, from its header alone (ml.imaging; never decodes pixels).
* `photos`      — the upload checks and storing an original (classifier.services.photo_upload queues it).
* `direct_uploads` — with S3, files the browser sends straight to the bucket, checked and recorded the same way.
* `imports`     — files already on disk (`manage.py import_session`), stored the same way.
* `photo_state` — a photo's processing state, moved only by conditional updates (the worker calls these).
* `storage`     — deleting stored files.
"""
from .accounts import user_signup
from .clients import client_create, client_delete, client_get_or_create, client_update
from .direct_uploads import (
    DirectUpload,
    DirectUploadTicketError,
    direct_upload_finish,
    direct_upload_start,
    direct_uploads_enabled,
)
from .imports import ImportOutcome, iter_import_files, photos_store_paths
from .inspection import ImageInfo, UnreadableImage, inspect_upload
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
    photo_store,
    photos_mark_seen,
    rejected_upload_record,
)
from .sessions import (
    session_create,
    session_delete,
    session_update,
    sessions_set_check_strictness,
    sessions_set_strictness,
)
from .storage import storage_delete

__all__ = [
    "DirectUpload",
    "DirectUploadTicketError",
    "direct_upload_finish",
    "direct_upload_start",
    "direct_uploads_enabled",
    "ImageInfo",
    "ImportOutcome",
    "UploadRejected",
    "UploadResult",
    "UnreadableImage",
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
    "inspect_upload",
    "photo_store",
    "photos_mark_seen",
    "photos_state_mark_sent",
    "photos_state_mark_unsent",
    "photos_state_rerun",
    "photos_state_stuck",
    "photos_state_touch",
    "photos_state_unsent",
    "photos_state_waiting",
    "photos_store_paths",
    "session_create",
    "session_delete",
    "session_update",
    "sessions_set_check_strictness",
    "sessions_set_strictness",
    "storage_delete",
    "user_signup",
]
