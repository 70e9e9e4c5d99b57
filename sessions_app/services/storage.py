"""Deleting stored files (which files belong to what is `sessions_app.media_names`' business)."""
from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

from django.core.files.storage import default_storage

logger = logging.getLogger(__name__)


def storage_delete(names: Iterable[str], *, prune_dirs: bool = False) -> int:
    """Delete files, logging (not raising) on failure: a missing file must not block a delete.

    `prune_dirs` also removes folders left empty; only for whole sessions, never while uploads may
    still be writing into the same folder.
    """
    deleted = 0
    dirs: set[str] = set()
    for name in names:
        try:
            default_storage.delete(name)
            deleted += 1
        except OSError:
            logger.warning("could not delete stored file %s", name, exc_info=True)
        dirs.add(os.path.dirname(name))
    if prune_dirs:
        _remove_empty_local_dirs(dirs)
    return deleted


def _remove_empty_local_dirs(dirs: Iterable[str]) -> None:
    # Only a local folder storage leaves empty folders behind; S3 has no folders.
    # Parents too (exports/<session>/<export>/ -> exports/<session>/), but never the top folders.
    expanded = set()
    for name in dirs:
        while name.count("/") >= 1:
            expanded.add(name)
            name = os.path.dirname(name)
    for name in sorted(expanded, key=lambda n: (n.count("/"), len(n)), reverse=True):
        if not name:
            continue
        try:
            path = Path(default_storage.path(name))
        except NotImplementedError:
            return
        try:
            path.rmdir()
        except OSError:
            pass  # not empty or already gone
