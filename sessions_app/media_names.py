"""Every name Eye Spy gives a file in storage, and which files belong to a photo or a session.

The one place that knows the layout; writers (uploads, the worker, zooms, exports, model weights) ask
here for a name and readers ask here whether a stored name is one of a photo's files. Layout:

    photos/<session-uuid>/<photo-hex><ext>                     the original, untouched
    incoming/<session-uuid>/<random-hex>                       a direct upload (S3) until it is checked
    derived/<photo-hex>/thumb.jpg, preview.jpg                 derivatives (model-independent)
    derived/<photo-hex>/m<version-id>/eye-<face>-<side>.png    eye crops, per model version
    derived/<photo-hex>/m<version-id>/zoom-v<N>-<face>.jpg     100 % eye zooms, per model version
    derived/<photo-hex>/gallery/<variant>.jpg                  proofing-gallery previews
    derived/<photo-hex>/training/<example>.png                 training crops cut from corrections
    exports/<session-uuid>/<export-hex>/<file>                 exports
    models/<version-name>/<file>                               model weights

Everything made from a photo lives under its `derived/<photo-hex>/` folder, so deleting a photo is
"the original plus that folder" however the layout grows. Eye crops are per model version because
predictions are: after a retrain the old prediction (and any training example cut from it) keeps
pointing at the pixels it was judged on.

Older installs stored eye crops per photo (`derived/<photo-hex>/eye-<face>-<side>.png`, overwritten by
every re-run) and, earliest, under the dashed uuid. Predictions name their crops (`crop_path`), so those
names keep working through `eye_crop_name`; the folder listing in `photo_file_names` deletes them.

Only plain functions of ids here: no storage calls except the folder listing used for deletion.
"""
from __future__ import annotations

import logging
import posixpath
import uuid
from collections.abc import Iterable
from typing import Any

from django.core.files.storage import Storage, default_storage

logger = logging.getLogger(__name__)

SIDES = ("left", "right")
# Bump when the zoom framing changes: cached zooms under the old name are simply never read again.
ZOOM_VERSION = 2  # 2: framing never a thin strip, and not on the nose of a soft face (classifier eye_zoom)
# The key in a stored eye (Prediction.details faces -> eyes) that names its crop file.
EYE_CROP_KEY = "crop_path"
INCOMING_PREFIX = "incoming/"


def _hex(value: uuid.UUID | str) -> str:
    return value.hex if isinstance(value, uuid.UUID) else uuid.UUID(str(value)).hex


# --- Originals and derivatives --------------------------------------------------------------------------


def original_name(*, session_uuid: uuid.UUID, photo_uuid: uuid.UUID, extension: str) -> str:
    # Never the client's path or name: uuid + the extension we detected from the content.
    return f"photos/{session_uuid}/{_hex(photo_uuid)}{extension}"


def incoming_name(*, session_uuid: uuid.UUID) -> str:
    """Where a browser's direct upload lands before the app has checked it (then copied to its original name).
    Its own prefix, so a bucket lifecycle rule can expire uploads that were never finished."""
    return f"{INCOMING_PREFIX}{session_uuid}/{uuid.uuid4().hex}"


def derived_folder(photo_uuid: uuid.UUID) -> str:
    return f"derived/{_hex(photo_uuid)}"


def thumbnail_name(photo_uuid: uuid.UUID) -> str:
    return f"{derived_folder(photo_uuid)}/thumb.jpg"


def preview_name(photo_uuid: uuid.UUID) -> str:
    return f"{derived_folder(photo_uuid)}/preview.jpg"


def _version_folder(photo_uuid: uuid.UUID, model_version_id: int) -> str:
    return f"{derived_folder(photo_uuid)}/m{int(model_version_id)}"


def eye_crop_new_name(*, photo_uuid: uuid.UUID, model_version_id: int, face_index: int, side: str) -> str:
    if side not in SIDES:
        raise ValueError(f"eye side is left or right, not {side!r}")
    return f"{_version_folder(photo_uuid, model_version_id)}/eye-{int(face_index)}-{side}.png"


def zoom_name(*, photo_uuid: uuid.UUID, model_version_id: int, face_index: int) -> str:
    return f"{_version_folder(photo_uuid, model_version_id)}/zoom-v{ZOOM_VERSION}-{int(face_index)}.jpg"


def gallery_preview_name(*, photo_uuid: uuid.UUID, variant: str) -> str:
    """`variant` says size and watermark (e.g. "w1600" or "w1600-wm3f2a"); only [a-z0-9-]."""
    if not variant or not all(ch.isascii() and (ch.isalnum() or ch == "-") for ch in variant):
        raise ValueError(f"bad gallery preview variant {variant!r}")
    return f"{derived_folder(photo_uuid)}/gallery/{variant.lower()}.jpg"


def training_crop_name(*, photo_uuid: uuid.UUID, example_key: str) -> str:
    """`example_key` identifies the example within the photo (e.g. "c12-f0-left"); only [a-z0-9-]."""
    if not example_key or not all(ch.isascii() and (ch.isalnum() or ch == "-") for ch in example_key):
        raise ValueError(f"bad training example key {example_key!r}")
    return f"{derived_folder(photo_uuid)}/training/{example_key.lower()}.png"


def eye_crop_name(*, photo_uuid: uuid.UUID, eye: Any) -> str:
    """The crop a stored eye names, if it is one of this photo's files; '' otherwise.

    Stored JSON is data, not trust: a name outside the photo's own folder (another photo's, `..`) is
    never served. Reads today's per-version names and the older per-photo ones alike.
    """
    name = eye_crop_stored_name(eye)
    if not name or ".." in name.split("/"):
        return ""
    folders = (f"{derived_folder(photo_uuid)}/", f"derived/{uuid.UUID(str(photo_uuid))}/")  # hex, or dashed (oldest)
    return name if name.startswith(folders) else ""


def eye_crop_stored_name(eye: Any) -> str:
    """The crop name recorded in a stored eye ('' when none), without checking whose it is."""
    if not isinstance(eye, dict):
        return ""
    name = eye.get(EYE_CROP_KEY)
    return name if isinstance(name, str) else ""


# --- Exports and model weights ----------------------------------------------------------------------------


def export_name(*, session_uuid: uuid.UUID, export_uuid: uuid.UUID, filename: str) -> str:
    return f"exports/{session_uuid}/{_hex(export_uuid)}/{posixpath.basename(filename)}"


def model_weights_name(*, version_name: str, filename: str) -> str:
    return f"models/{version_name}/{posixpath.basename(filename)}"


# --- Every file of a photo or a session (deletion) ----------------------------------------------------------


def _list_tree(folder: str, storage: Storage) -> list[str]:
    """Every file under `folder` (recursively); [] when it doesn't exist or can't be listed."""
    out: list[str] = []
    pending = [folder]
    while pending:
        current = pending.pop()
        try:
            dirs, files = storage.listdir(current)
        except (FileNotFoundError, NotImplementedError, OSError):
            continue
        out.extend(f"{current}/{f}" for f in files)
        pending.extend(f"{current}/{d}" for d in dirs)
    return out


def photo_file_names(
    *, photo_uuid: uuid.UUID, stored_names: Iterable[str] = (), storage: Storage | None = None
) -> set[str]:
    """Every stored file of one photo: the names its rows give (`stored_names`: original, companion, thumbnail, preview,
    crop names from predictions) plus everything under its derived folder, whatever the layout version."""
    storage = storage or default_storage
    names = {n for n in stored_names if n}
    names.update(_list_tree(derived_folder(photo_uuid), storage))
    dashed = f"derived/{uuid.UUID(str(photo_uuid))}"  # the oldest layout
    names.update(_list_tree(dashed, storage))
    return names


def export_folder(*, session_uuid: uuid.UUID) -> str:
    return f"exports/{session_uuid}"


def session_file_names(session: Any, *, storage: Storage | None = None) -> list[str]:
    """Every stored file of a session: each photo's files (see `photo_file_names`) and its exports."""
    storage = storage or default_storage
    names: set[str] = set()
    for photo_uuid, *stored in session.photos.values_list("uuid", "original", "companion", "thumbnail", "preview"):
        names |= photo_file_names(photo_uuid=photo_uuid, stored_names=stored, storage=storage)
    names.update(n for n in session.exports.values_list("file", flat=True) if n)
    names.update(_list_tree(export_folder(session_uuid=session.uuid), storage))
    return sorted(names)
