"""Derivatives for the web app: thumbnail and preview JPEGs made from the working image."""
from __future__ import annotations

import io

from PIL import Image

from ml.imaging.decode import DecodedImage


def _fit(size: tuple[int, int], side: int) -> tuple[int, int]:
    width, height = size
    ratio = side / max(width, height)
    return max(1, round(width * ratio)), max(1, round(height * ratio))


def _jpeg_bytes(im: Image.Image, icc: bytes | None) -> bytes:
    out = io.BytesIO()
    extra = {"icc_profile": icc} if icc else {}
    # Baseline, no optimize pass: optimize doubles the encode time for a few % of bytes (decode-speed notes).
    im.save(out, "JPEG", quality=85, **extra)
    return out.getvalue()


def make_derivatives(decoded: DecodedImage, *, thumb_side: int = 400, preview_side: int = 1600) -> tuple[bytes, bytes]:
    """(thumbnail JPEG, preview JPEG) from the working image; no second decode of the original.

    The preview is the working image itself when that is already <= ~preview_side (a 1500 px
    working image makes a 1500 px preview rather than being upscaled); JPEG q85, never WebP in this
    hot path (WebP costs more than the whole decode).
    """
    image = decoded.image
    icc = image.info.get("icc_profile")
    long_side = max(image.size)
    if long_side > preview_side:
        preview_image = image.resize(_fit(image.size, preview_side), Image.Resampling.BICUBIC, reducing_gap=2.0)
    else:
        preview_image = image
    if long_side > thumb_side:
        thumb_source = preview_image if max(preview_image.size) < long_side else image
        thumb_image = thumb_source.resize(_fit(image.size, thumb_side), Image.Resampling.LANCZOS, reducing_gap=1.5)
    else:
        thumb_image = image
    return _jpeg_bytes(thumb_image, icc), _jpeg_bytes(preview_image, icc)
