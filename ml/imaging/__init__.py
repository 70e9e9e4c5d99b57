"""Open a photo once, cheaply and safely: the working image for analysis plus the thumbnail and preview.

Speed (see shared/notes/decode-speed.md): a 24 MP JPEG costs ~80 ms to entropy-decode even at reduced
size, and Pillow's resize from big sizes costs more than the decode. So JPEGs are decoded straight
to (almost) the working size with DCT scaling (`Image.draft`), which must happen BEFORE the EXIF
orientation is applied (transposing first forces a full 24 MP decode, ~8x slower). What is left is
a small integer `reduce()` plus a bilinear step. Other formats have no reduced decode.

Safety: the type is sniffed from the content (never the file name); dimensions are read from the
header and checked against `max_pixels` before any pixel is decoded; truncated or corrupt data is
an error, never a half-grey picture. Every refusal is an `ImageError` with a readable `.reason`.

Layout (one module per concern; this file only re-exports, so `from ml.imaging import ...` keeps working):
    errors.py       ImageError, the one exception every refusal raises
    sources.py      Source and opening bytes / paths / file objects as one seekable file
    sniff.py        sniff_format, describe_content and the refusal for non-images / unsupported types
    headers.py      HeaderInfo, image_header_info and the per-format header parsers (JPEG, PNG, WebP, TIFF, HEIF)
    limits.py       DEFAULT_MAX_PIXELS and the process-wide Pillow settings (applied once, on import)
    exif.py         ORIENTATION_TRANSPOSE, parse_exif_datetime and the capture-date lookup
    pixels.py       mode -> RGB, the cheap shrink and the grey-tail truncation check
    decode.py       decode(), DecodedImage, WORKING_SIDE, DETAIL_SIDE, the DCT draft factor and lazy HEIF registration
    detail.py       DetailImage: the photo at a higher resolution, un-rotated, cropped upright on demand
    derivatives.py  make_derivatives (thumbnail + preview JPEGs)
    raw.py          camera RAW: kinds by content, the embedded preview or a half-size LibRaw decode
"""
from __future__ import annotations

# limits first: its Pillow settings (MAX_IMAGE_PIXELS, LOAD_TRUNCATED_IMAGES) must be in place before any decode.
from ml.imaging.limits import DEFAULT_MAX_PIXELS
from ml.imaging.decode import DCT_SLACK, DETAIL_SIDE, WORKING_SIDE, DecodedImage, decode, register_heif
from ml.imaging.detail import DetailImage
from ml.imaging.derivatives import make_derivatives
from ml.imaging.errors import ImageError
from ml.imaging.exif import ORIENTATION_TRANSPOSE, parse_exif_datetime
from ml.imaging.headers import HeaderInfo, image_header_info
from ml.imaging.sniff import SUPPORTED_FORMATS, describe_content, sniff_format
from ml.imaging.raw import PREVIEW_MIN_SIDE, RAW_KINDS, preview_long_side, raw_full_image
from ml.imaging.sources import Source

__all__ = [
    "DCT_SLACK",
    "DETAIL_SIDE",
    "DEFAULT_MAX_PIXELS",
    "ORIENTATION_TRANSPOSE",
    "PREVIEW_MIN_SIDE",
    "RAW_KINDS",
    "SUPPORTED_FORMATS",
    "WORKING_SIDE",
    "DecodedImage",
    "DetailImage",
    "HeaderInfo",
    "ImageError",
    "Source",
    "decode",
    "describe_content",
    "image_header_info",
    "make_derivatives",
    "parse_exif_datetime",
    "preview_long_side",
    "raw_full_image",
    "register_heif",
    "sniff_format",
]
