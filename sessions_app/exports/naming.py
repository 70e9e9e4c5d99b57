"""File names inside exports: the photographer's own names, made safe and unique."""
from __future__ import annotations

import os
import unicodedata

from sessions_app.models import Photo


def safe_filename(photo: Photo) -> str:
    """The original file name as a bare, printable name (never a path), falling back to the stored one."""
    name = (photo.original_filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch)[0] != "C").strip()
    if name in ("", ".", ".."):
        name = f"{photo.uuid.hex}{photo.extension}"
    return name.lstrip(".") or f"{photo.uuid.hex}{photo.extension}"


class UniqueNames:
    """Hands out each name once per folder, ignoring case (Windows and macOS folders do): 'IMG_1 (2).JPG'."""

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def claim(self, name: str) -> str:
        stem, ext = os.path.splitext(name)
        candidate, n = name, 1
        while candidate.lower() in self._taken:
            n += 1
            candidate = f"{stem} ({n}){ext}"
        self._taken.add(candidate.lower())
        return candidate
