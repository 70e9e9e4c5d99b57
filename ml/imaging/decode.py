"""Decoding: one photo -> an EXIF-oriented RGB working image (DecodedImage), with the reduced JPEG decode."""
from __future__ import annotations

import struct
import threading
import warnings
import zlib
from dataclasses import dataclass
from datetime import datetime

from PIL import ExifTags, Image, ImageFile

from ml.imaging.detail import DetailImage
from ml.imaging.errors import ImageError
from ml.imaging.exif import ORIENTATION_TRANSPOSE, _read_exif, _taken_at
from ml.imaging.headers import _header_info
from ml.imaging.limits import DEFAULT_MAX_PIXELS, _limit_reason
from ml.imaging.pixels import _looks_cut_short, _shrink, _to_rgb
from ml.imaging.sniff import _HEAD_BYTES, sniff_format
from ml.imaging.sources import Source, _opened


@dataclass(frozen=True)
class DecodedImage:
    image: Image.Image  # RGB, EXIF-oriented, long side <= the max_side asked for
    original_width: int  # oriented size of the full-resolution photo
    original_height: int
    format: str  # one of SUPPORTED_FORMATS
    taken_at: datetime | None  # EXIF DateTimeOriginal (fallback DateTime); aware only if the file says its offset
    scale: float  # working size / original size (e.g. 0.25 for a 6000 px frame decoded at 1500 px)
    detail: DetailImage | None = None  # a higher-resolution copy, only when decode(detail_side=...) asked for one
    # Where the pixels came from when that is not simply the file: a RAW's embedded preview, or a
    # half-size decode and why ("CR3 RAW, half-size decode (the embedded preview is only 160 px)").
    source: str = ""


_heif_lock = threading.Lock()
_heif_registered = False


def register_heif() -> None:
    """pillow-heif is imported and registered only when the first HEIC arrives (it costs import time)."""
    global _heif_registered
    with _heif_lock:
        if not _heif_registered:
            import pillow_heif

            pillow_heif.register_heif_opener()
            _heif_registered = True


# A DCT-scaled decode this close below max_side is used as is: resizing up from a 1/2 decode
# would cost more than the decode (a 20 MP 5472 px frame at 1/4 is 1368 px, good enough).
DCT_SLACK = 0.8


def _dct_factor(long_side: int, max_side: int) -> int:
    """Largest JPEG DCT scale-down (1, 2, 4 or 8) whose result still has a long side >= DCT_SLACK * max_side."""
    for factor in (8, 4, 2):
        if -(-long_side // factor) >= max_side * DCT_SLACK:
            return factor
    return 1


_PILLOW_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, RuntimeError, IndexError)


def _corrupt_reason(fmt: str, exc: BaseException) -> str:
    text = str(exc)
    if "truncated" in text or isinstance(exc, EOFError):
        return "file is truncated (incomplete upload?)"
    text = text.removesuffix(" when reading image file").strip() or type(exc).__name__
    return f"corrupt {fmt} file ({text})"


# 1600 = the preview size: a 24 MP frame decodes straight to 1500 px at 1/4 (measured: ~107 ms per photo
# for the whole analysis vs ~210 ms at 2000 px, which needs a 1/2 decode and a resize).
WORKING_SIDE = 1600


# The detail image's long side: a 24 MP frame at 1/2 scale. Measured (bench/decode_options.py, 2 shared cores):
# +36 ms CPU over the 1/4 decode (median; a second full decode for a region costs +162 ms), which alone is over
# the checks' 25 ms budget, so the worker does not ask for it by default; the checks use it when it is there.
DETAIL_SIDE = 3000


def decode(source: Source, *, max_side: int = WORKING_SIDE, max_pixels: int = DEFAULT_MAX_PIXELS,
           detail_side: int = 0) -> DecodedImage:
    """Decode a photo to an EXIF-oriented RGB working image with long side <= max_side.

    JPEGs are decoded at the largest DCT reduction (1/2, 1/4, 1/8) that still yields >= 80% of
    max_side, then shrunk if above it; e.g. 6000x4000 with the default 1600 is a pure 1/4 decode to
    1500x1000 (~80 ms), while max_side=2000 means a 1/2 decode plus a 3000->2000 step (~+40 ms). Multi-frame files give their first frame.

    `detail_side` > max_side also keeps a DetailImage (long side <= detail_side) when the photo is larger than
    the working image: a JPEG is then decoded once at the detail's DCT scale and the working image is an
    integer reduce of it (the same size as without it). 0 (the default): no detail image.
    A camera RAW is decoded from its largest embedded preview, or half-size when it has no usable one
    (ml.imaging.raw); `.source` says which.

    Raises ImageError (empty, not an image, unsupported type, truncated/corrupt, too large).
    A path that does not exist raises FileNotFoundError as usual.
    """
    if max_side < 1:
        raise ValueError("max_side must be positive")
    with _opened(source) as fp:
        head = fp.read(_HEAD_BYTES)
        fp.seek(0)
        # A RAW known by its bytes is opened with LibRaw once, by decode_raw (which checks its size too);
        # only unrecognised bytes need LibRaw here to say whether they are a RAW at all.
        header = _header_info(fp, head, open_raw=sniff_format(head) is None)
        fmt = header.format
        # Bombs are refused from the header numbers, before Pillow allocates anything.
        if header.pixels > max_pixels:
            raise ImageError(_limit_reason(header.pixels, max_pixels))
        if fmt == "RAW":
            from ml.imaging.raw import decode_raw

            return decode_raw(fp, kind=header.kind, max_side=max_side, max_pixels=max_pixels)
        if fmt == "HEIF":
            register_heif()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                im = Image.open(fp, formats=[fmt])
                width, height = im.size
                if width * height > max_pixels:
                    raise ImageError(_limit_reason(width * height, max_pixels))
                work_factor = factor = 1
                if fmt == "JPEG":
                    work_factor = factor = _dct_factor(max(width, height), max_side)
                    if detail_side > max_side:
                        factor = min(factor, _dct_factor(max(width, height), detail_side))
                    if factor > 1:
                        # Must come before any transpose: that would force the full-size decode.
                        im.draft("RGB", (max(1, width // factor), max(1, height // factor)))
                im.load()
        except ImageError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageError(_limit_reason(header.pixels, min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels))) from exc
        except Image.UnidentifiedImageError as exc:
            raise ImageError(f"corrupt {fmt} file (cannot read it)") from exc
        except _PILLOW_DECODE_ERRORS as exc:
            raise ImageError(_corrupt_reason(fmt, exc)) from exc
        if fmt == "JPEG" and width * height >= 2_000_000 and _looks_cut_short(im):
            raise ImageError("file is truncated (image data ends early)")

        exif = _read_exif(im)
        taken_at = _taken_at(exif)
        icc = im.info.get("icc_profile") if im.mode in ("RGB", "RGBA") else None
        try:
            orientation = int(exif.get(ExifTags.Base.Orientation, 1)) if exif is not None else 1
        except (TypeError, ValueError):
            orientation = 1
        # HEIF decoders already apply the container's rotation, and pillow-heif resets the EXIF tag.
        transpose = ORIENTATION_TRANSPOSE.get(orientation) if fmt != "HEIF" else None
        try:
            work = _to_rgb(im)
        except (ValueError, OSError) as exc:
            raise ImageError(f"unsupported colour mode {im.mode} in this {fmt} file") from exc
        detail = None
        if detail_side > max_side and max(work.size) > max_side:
            raw = work if max(work.size) <= detail_side else _shrink(work, detail_side)
            if isinstance(raw, ImageFile.ImageFile):
                raw = raw.copy()  # not the opened file object, which keeps the source alive (see below)
            detail = DetailImage(image=raw, transpose=transpose, scale=max(raw.size) / max(width, height))
            if work_factor > factor:  # the working image the plain decode would give, by a cheap box reduce
                work = work.reduce(work_factor // factor)
        work = _shrink(work, max_side)
        if transpose is not None:
            work = work.transpose(transpose)

    if transpose in (Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_270, Image.Transpose.TRANSPOSE, Image.Transpose.TRANSVERSE):
        width, height = height, width
    if isinstance(work, ImageFile.ImageFile):
        # Still the opened file object: it would keep the source (~10 MB) alive through its .fp.
        work = work.copy()
    # The pixels are upright now; drop the EXIF (its Orientation would make exif_transpose rotate
    # them a second time) and keep only the colour profile, so previews of wide-gamut photos keep
    # their colours.
    work.info = {"icc_profile": icc} if icc else {}
    return DecodedImage(
        image=work,
        original_width=width,
        original_height=height,
        format=fmt,
        taken_at=taken_at,
        scale=max(work.size) / max(width, height),
        detail=detail,
    )
