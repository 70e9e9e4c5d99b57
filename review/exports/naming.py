"""File names inside exports: the photographer's own names, made safe, portable and unique."""
from __future__ import annotations

import os
import re
import unicodedata

from sessions_app.models import Photo

# Characters Windows (and so many unzip tools and the NAS shares photographers copy to) refuse in a name.
_NOT_PORTABLE = re.compile(r'[<>:"|?*]')
# Device names Windows reserves whatever the extension: "CON.jpg" can't be created there.
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)


def portable_name(name: str) -> str:
    """A name every common file system accepts: no control or reserved characters, no trailing dots or
    spaces, no device names. Letters of any script are kept."""
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch)[0] != "C")
    name = _NOT_PORTABLE.sub("_", name).strip().rstrip(". ")
    if _RESERVED.match(name):
        name = f"_{name}"
    return name


def original_name(photo: Photo) -> str:
    """The photographer's own file name as their editor shows it (printable, never a path): what reports list
    and filename filters search for. Not made portable: it must match the file on their disk."""
    name = (photo.original_filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch)[0] != "C").strip()


def original_stem(photo: Photo) -> str:
    """`original_name` without its extension (IMG_0001 finds IMG_0001.JPG and its raw twin alike)."""
    return os.path.splitext(original_name(photo))[0].strip()


def safe_filename(photo: Photo) -> str:
    """The original file name as a bare, portable name (never a path), falling back to the stored one."""
    name = (photo.original_filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = portable_name(name).lstrip(".")
    return name or f"{photo.uuid.hex}{photo.extension}"


def companion_name(photo: Photo) -> str:
    """A RAW + JPEG pair's second file (the JPEG) by its own name, as `original_name`; '' for a single photo."""
    name = (photo.companion_filename or "").replace("\\", "/").rsplit("/", 1)[-1] if photo.companion else ""
    return "".join(ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch)[0] != "C").strip()


def safe_companion_filename(photo: Photo) -> str:
    """`safe_filename` for a pair's second file; '' for a single photo."""
    if not photo.companion:
        return ""
    name = portable_name(photo.companion_filename.replace("\\", "/").rsplit("/", 1)[-1]).lstrip(".")
    return name or f"{photo.uuid.hex}-pair{os.path.splitext(photo.companion.name)[1]}"


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
