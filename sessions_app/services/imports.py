"""Files already on disk (`manage.py import_session`), stored through the same checks as an upload."""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.core.files import File

from ..models import Photo, PhotoSession
from .photos import UploadRejected, UploadResult, photo_store


@dataclass(frozen=True)
class ImportOutcome:
    path: Path
    status: str  # "imported", "paired" (joined its RAW or JPEG twin's photo), "duplicate", "rejected"
    photo: Photo | None = None
    reason: str = ""
    result: UploadResult | None = None


def iter_import_files(paths: Iterable[str | os.PathLike]) -> Iterator[Path]:
    """Files under `paths` (folders recursively), in a stable order, skipping hidden files and folders."""
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            yield path
            continue
        for folder, subdirs, files in os.walk(path):
            subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
            for name in sorted(files):
                if not name.startswith("."):
                    yield Path(folder) / name


def photos_store_paths(*, session: PhotoSession, paths: Iterable[str | os.PathLike]) -> Iterator[ImportOutcome]:
    """Store files from disk through `photo_store`, yielding one outcome per file as it goes (queueing them is
    the caller's: classifier.services.photos_import_paths)."""
    for path in iter_import_files(paths):
        try:
            with path.open("rb") as fh:
                result = photo_store(session=session, fileobj=File(fh, name=path.name), filename=path.name)
        except UploadRejected as exc:
            yield ImportOutcome(path=path, status="rejected", reason=exc.reason)
        except OSError as exc:
            yield ImportOutcome(path=path, status="rejected", reason=f"can't read file ({exc.strerror or exc})")
        else:
            status = "duplicate" if result.duplicate else "paired" if result.paired else "imported"
            reason = f"with {_twin_name(result, path.name)}" if status == "paired" else ""
            yield ImportOutcome(path=path, status=status, photo=result.photo, reason=reason, result=result)


def _twin_name(result: UploadResult, name: str) -> str:
    photo = result.photo
    return photo.companion_filename if photo.original_filename == name else photo.original_filename
