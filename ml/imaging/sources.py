"""What decode() and image_header_info() accept, opened as one seekable binary file."""
from __future__ import annotations

import io
import os
from contextlib import contextmanager
from typing import BinaryIO, Iterator, Union

Source = Union[bytes, bytearray, memoryview, str, os.PathLike, BinaryIO]


@contextmanager
def _opened(source: Source) -> Iterator[BinaryIO]:
    """A seekable binary file positioned at the start of the image data.

    A missing or unreadable path raises the usual OSError: that is a storage problem, not a bad photo.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        yield io.BytesIO(source)
    elif isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as fp:
            yield fp
    elif hasattr(source, "read"):
        try:
            seekable = source.seekable() and source.tell() == 0
        except (AttributeError, OSError, ValueError):
            seekable = False
        # Pillow seeks to offset 0 itself, so anything not at its start is copied.
        yield source if seekable else io.BytesIO(source.read())
    else:
        raise TypeError(f"decode() needs bytes, a path or a binary file, not {type(source).__name__}")
