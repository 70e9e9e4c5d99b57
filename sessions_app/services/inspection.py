"""Checking an upload by its content, from the header alone (the web process never decodes pixels)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

from django.conf import settings

from eyespy_site.errors import AppError

# Extension and MIME type we store for each sniffed format.
_FORMATS = {
    "JPEG": (".jpg", "image/jpeg"),
    "PNG": (".png", "image/png"),
    "TIFF": (".tif", "image/tiff"),
    "WEBP": (".webp", "image/webp"),
    "HEIF": (".heic", "image/heic"),
}


def _megapixels(pixels: int) -> str:
    mp = pixels / 1e6
    return f"{mp:.0f}" if mp >= 10 or mp == int(mp) else f"{mp:.1f}"


class UnreadableImage(AppError, ValueError):
    """The file is not a photo we can process. `reason` is shown to the photographer as is."""


@dataclass(frozen=True)
class ImageInfo:
    format: str  # "JPEG", "PNG", "TIFF", "WEBP", "HEIF", "RAW"
    extension: str  # ".jpg", ...
    content_type: str  # "image/jpeg", ...
    width: int  # as stored, before EXIF orientation (the worker records the oriented size)
    height: int
    raw_kind: str = ""  # for RAW: "CR3", "NEF", "DNG", ...

    @property
    def is_raw(self) -> bool:
        return self.format == "RAW"


def inspect_upload(fileobj: BinaryIO, *, max_pixels: int | None = None, open_raw: bool = True) -> ImageInfo:
    """What image this is, from its first bytes. Leaves the file positioned at its start.

    Raises UnreadableImage: "empty file", "not an image (looks like a PDF)", "image too large
    (312 megapixels; limit 150)", "this camera RAW file can't be read ...". A truncated body passes
    here and fails in the worker with its own reason. A camera RAW is recognised by its content (a CR3
    renamed .jpg is still a CR3) and its headers are parsed by LibRaw, which decodes nothing here.
    """
    from ml.imaging import RAW_KINDS, ImageError, image_header_info

    limit = settings.EYESPY_MAX_PIXELS if max_pixels is None else max_pixels
    try:
        fileobj.seek(0)
        header = image_header_info(fileobj, open_raw=open_raw)
    except ImageError as exc:
        raise UnreadableImage(exc.reason) from None
    finally:
        fileobj.seek(0)
    pixels = header.width * header.height
    if pixels > limit:
        # Decompression bombs: a few KB that claim hundreds of megapixels.
        raise UnreadableImage(f"image too large ({_megapixels(pixels)} megapixels; limit {_megapixels(limit)})")
    if header.format == "RAW":
        _, extension, content_type = RAW_KINDS.get(header.kind, RAW_KINDS["RAW"])
    else:
        extension, content_type = _FORMATS[header.format]
    return ImageInfo(
        format=header.format, extension=extension, content_type=content_type, width=header.width, height=header.height,
        raw_kind=header.kind,
    )
