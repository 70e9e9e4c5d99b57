"""Camera RAW files: which kind a file is (from its content), and its pixels from the largest embedded preview.

A RAW is analysed from the camera's own embedded preview (rawpy `extract_thumb`: usually a full-size
JPEG, 1-14 ms to find) decoded through the same reduced JPEG path as any JPEG, and turned upright with
the RAW's orientation (the preview's own EXIF orientation when it has one, else LibRaw's `flip`). Only
when there is no usable preview, or it is too small for the eyes (< PREVIEW_MIN_SIDE on the long side),
is the sensor data decoded: a half-size LibRaw decode (0.5-0.75 s for 24 MP), and the reason is kept in
`DecodedImage.source`. A TIFF-based RAW's preview is found from its directories and only its bytes are
read (ml.imaging.raw_preview); for other kinds LibRaw needs the whole file in memory (it seeks to offsets
anywhere in it). Only the preview is decoded.

rawpy is imported on first use: the web process loads it only when a RAW is uploaded.
"""
from __future__ import annotations

import io
import struct
from typing import TYPE_CHECKING, BinaryIO

import numpy as np
from PIL import Image

from ml.imaging.errors import ImageError
from ml.imaging.exif import ORIENTATION_TRANSPOSE
from ml.imaging.limits import _limit_reason
from ml.imaging.pixels import _shrink

if TYPE_CHECKING:
    from ml.imaging.decode import DecodedImage

# Below this long side a preview is too coarse for the eye check: decode the sensor data instead.
PREVIEW_MIN_SIDE = 1200

# kind -> (what a photographer calls it, stored extension, content type). Kinds LibRaw reads that we can
# recognise from their first bytes or their TIFF directory; anything else LibRaw opens counts as "RAW".
RAW_KINDS = {
    "CR2": ("a Canon CR2", ".cr2", "image/x-canon-cr2"),
    "CR3": ("a Canon CR3", ".cr3", "image/x-canon-cr3"),
    "CRW": ("a Canon CRW", ".crw", "image/x-canon-crw"),
    "NEF": ("a Nikon NEF", ".nef", "image/x-nikon-nef"),
    "ARW": ("a Sony ARW", ".arw", "image/x-sony-arw"),
    "RAF": ("a Fujifilm RAF", ".raf", "image/x-fuji-raf"),
    "ORF": ("an Olympus ORF", ".orf", "image/x-olympus-orf"),
    "RW2": ("a Panasonic RW2", ".rw2", "image/x-panasonic-rw2"),
    "PEF": ("a Pentax PEF", ".pef", "image/x-pentax-pef"),
    "DNG": ("a DNG", ".dng", "image/x-adobe-dng"),
    "SRW": ("a Samsung SRW", ".srw", "image/x-samsung-srw"),
    "MRW": ("a Minolta MRW", ".mrw", "image/x-minolta-mrw"),
    "X3F": ("a Sigma X3F", ".x3f", "image/x-sigma-x3f"),
    "IIQ": ("a Phase One IIQ", ".iiq", "image/x-phaseone-iiq"),
    "3FR": ("a Hasselblad 3FR", ".3fr", "image/x-hasselblad-3fr"),
    "RWL": ("a Leica RAW", ".rwl", "image/x-leica-rwl"),
    "RAW": ("a camera RAW", ".raw", "image/x-raw"),
}

# File name endings a browser's file picker must offer for RAWs (recognition itself is by content): every
# kind above, and LibRaw formats we only know by name.
RAW_SUFFIXES = tuple(sorted({ext for _, ext, _ in RAW_KINDS.values()}
                            | {".nrw", ".srf", ".sr2", ".kdc", ".dcr", ".erf", ".mef", ".mos", ".raw"}))

# The maker in a TIFF-based RAW's IFD0 says which kind it is (NEF, ARW, PEF share TIFF's layout).
_MAKER_KINDS = (("NIKON", "NEF"), ("SONY", "ARW"), ("PENTAX", "PEF"), ("RICOH", "PEF"), ("SAMSUNG", "SRW"),
                ("HASSELBLAD", "3FR"), ("LEICA", "RWL"), ("CANON", "CR2"), ("OLYMPUS", "ORF"), ("OM DIGITAL", "ORF"))
# TIFF photometric interpretations that only sensor data uses: CFA and DNG's LinearRaw.
_SENSOR_PHOTOMETRIC = {32803, 34892}


def raw_kind(head: bytes) -> str | None:
    """The RAW kind the first bytes announce on their own, else None (TIFF-based ones: `tiff_raw_kind`)."""
    if head[:4] == b"II*\x00" and head[8:10] == b"CR":
        return "CR2"
    if head[:4] == b"II*\x00" and head[8:12] == b"IIII":
        return "IIQ"
    if head[:4] in (b"IIRO", b"IIRS", b"MMOR"):
        return "ORF"
    if head[:4] == b"IIU\x00":
        return "RW2"
    if head[:14] == b"II\x1a\x00\x00\x00HEAPCCDR":
        return "CRW"
    if head.startswith(b"FUJIFILMCCD-RAW"):
        return "RAF"
    if head.startswith(b"\x00MRM"):
        return "MRW"
    if head.startswith(b"FOVb"):
        return "X3F"
    if len(head) >= 12 and head[4:12] == b"ftypcrx ":
        return "CR3"
    return None


def tiff_raw_kind(tags: dict[int, object]) -> str | None:
    """The RAW kind a TIFF's IFD0 tags reveal (DNGVersion, a reduced-size IFD0, sensor data), else None."""
    if 50706 in tags:
        return "DNG"
    make = str(tags.get(271) or "").upper()
    sensor = tags.get(262) in _SENSOR_PHOTOMETRIC
    reduced = isinstance(tags.get(254), int) and tags[254] & 1
    if not (sensor or reduced or (make and 330 in tags)):
        return None  # an ordinary TIFF (a scan, an export)
    return next((kind for maker, kind in _MAKER_KINDS if make.startswith(maker)), "RAW")


def kind_words(kind: str) -> str:
    return RAW_KINDS.get(kind, RAW_KINDS["RAW"])[0] + " RAW file"


# --- LibRaw -----------------------------------------------------------------------------------------------


def _libraw_error(exc: Exception, kind: str) -> ImageError:
    """A LibRaw failure in words a photographer reads (never a traceback)."""
    import rawpy

    what = kind_words(kind)
    if isinstance(exc, rawpy.LibRawFileUnsupportedError):
        return ImageError(f"this camera RAW file can't be read ({what} that LibRaw does not support, or damaged)")
    if isinstance(exc, rawpy.LibRawTooBigError):
        return ImageError(f"the RAW file is too large to decode ({what})")
    if isinstance(exc, rawpy.LibRawIOError):
        return ImageError(f"the RAW file is damaged: its image data ends early or can't be read ({what})")
    if isinstance(exc, (rawpy.LibRawDataError, rawpy.LibRawUnsupportedThumbnailError)):
        return ImageError(f"the RAW file is damaged: its image data is corrupt ({what})")
    detail = exc.args[0].decode("ascii", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
    return ImageError(f"the RAW file is damaged: {detail or type(exc).__name__} ({what})")


def _open_libraw(fp: BinaryIO, kind: str):
    import rawpy

    fp.seek(0)
    raw = rawpy.RawPy()
    try:
        raw.open_buffer(fp)
        raw.sizes  # noqa: B018 - reading the sizes fails here for a file LibRaw only half understands
    except rawpy.LibRawError as exc:
        raw.close()
        raise _libraw_error(exc, kind) from None
    return raw


# LibRaw's flip -> EXIF orientation (LibRaw keeps only the rotations: 0, 3, 5, 6).
_FLIP_ORIENTATION = {0: 1, 3: 3, 5: 8, 6: 6}


def raw_size(fp: BinaryIO, kind: str) -> tuple[int, int]:
    """(width, height) of the sensor image as stored, from LibRaw's parse of the headers (no decoding)."""
    raw = _open_libraw(fp, kind)
    try:
        return int(raw.sizes.width), int(raw.sizes.height)
    finally:
        raw.close()
        fp.seek(0)


def _preview(raw) -> tuple[Image.Image | None, bytes | None, str]:
    """(the preview as an unloaded image or None, its JPEG bytes or None, why there is none)."""
    import rawpy

    try:
        thumb = raw.extract_thumb()
    except rawpy.LibRawNoThumbnailError:
        return None, None, "no embedded preview"
    except rawpy.LibRawError:
        return None, None, "the embedded preview is unreadable"
    if thumb.format == rawpy.ThumbFormat.JPEG:
        data = bytes(thumb.data)
        try:
            return Image.open(io.BytesIO(data), formats=["JPEG"]), data, ""
        except (OSError, SyntaxError, ValueError, struct.error):
            return None, None, "the embedded preview is unreadable"
    array = np.asarray(thumb.data)
    if array.ndim == 3 and array.shape[2] == 3 and array.dtype == np.uint8:
        return Image.fromarray(array, "RGB"), None, ""
    return None, None, "the embedded preview is in a form we can't read"


def preview_long_side(data: bytes, kind: str = "RAW") -> int:
    """Long side of the RAW's usable embedded preview, 0 when there is none (to pick a pair's better source)."""
    raw = _open_libraw(io.BytesIO(data), kind)
    try:
        image, _, _ = _preview(raw)
        return max(image.size) if image is not None else 0
    finally:
        raw.close()


def decode_raw(fp: BinaryIO, *, kind: str, max_side: int, max_pixels: int) -> "DecodedImage":
    """A RAW -> DecodedImage from its largest embedded preview, or a half-size decode (reason in `.source`).

    A TIFF-based RAW's preview is found from its directories and only its bytes are read
    (ml.imaging.raw_preview); anything else, or a preview that isn't usable, goes through LibRaw, which
    reads the whole file."""
    from ml.imaging.raw_preview import tiff_preview_bytes

    size = fp.seek(0, io.SEEK_END)
    found = tiff_preview_bytes(fp, size)
    if found is not None and max(found[1].width, found[1].height) >= PREVIEW_MIN_SIDE:
        jpeg, where = found
        decoded = _from_jpeg_preview(jpeg, where.orientation, kind=kind, max_side=max_side, max_pixels=max_pixels)
        if not isinstance(decoded, str):
            return decoded
    fp.seek(0)
    return _decode_with_libraw(fp.read(), kind=kind, max_side=max_side, max_pixels=max_pixels)


def _from_jpeg_preview(jpeg: bytes, orientation: int, *, kind: str, max_side: int,
                       max_pixels: int) -> "DecodedImage | str":
    """The preview decoded and turned upright, or why it can't be used."""
    from ml.imaging.decode import decode

    try:
        with Image.open(io.BytesIO(jpeg), formats=["JPEG"]) as image:
            size, preview_orientation = image.size, _jpeg_orientation(image)
        decoded = decode(jpeg, max_side=max_side, max_pixels=max_pixels)
    except ImageError as exc:
        return f"the embedded preview is unreadable: {exc.reason}"
    except (OSError, SyntaxError, ValueError, struct.error):
        return "the embedded preview is unreadable"
    # The camera's preview may carry its own orientation (decode applied it); else the RAW's.
    turn = None if preview_orientation not in (None, 1) else ORIENTATION_TRANSPOSE.get(orientation)
    return _turned(decoded, turn, source=f"embedded JPEG preview {size[0]}x{size[1]}", kind=kind)


def _decode_with_libraw(data: bytes, *, kind: str, max_side: int, max_pixels: int) -> "DecodedImage":
    from ml.imaging.decode import DecodedImage

    raw = _open_libraw(io.BytesIO(data), kind)
    try:
        sensor_w, sensor_h = int(raw.sizes.width), int(raw.sizes.height)
        if sensor_w * sensor_h > max_pixels:
            raise ImageError(_limit_reason(sensor_w * sensor_h, max_pixels))
        orientation = _FLIP_ORIENTATION.get(int(raw.sizes.flip), 1)
        image, jpeg, why = _preview(raw)
        if image is not None and max(image.size) < PREVIEW_MIN_SIDE:
            why = f"the embedded preview is only {max(image.size)} px"
            image = jpeg = None
        if jpeg is not None:
            decoded = _from_jpeg_preview(jpeg, orientation, kind=kind, max_side=max_side, max_pixels=max_pixels)
            if not isinstance(decoded, str):
                return decoded
            why = decoded
        elif image is not None:
            work = _shrink(image, max_side)
            width, height = image.size
            decoded = DecodedImage(image=work, original_width=width, original_height=height, format="RAW",
                                   taken_at=None, scale=max(work.size) / max(width, height))
            return _turned(decoded, ORIENTATION_TRANSPOSE.get(orientation),
                           source=f"embedded bitmap preview {width}x{height}", kind=kind)
        return _half_size(raw, why=why or "no usable preview", kind=kind, max_side=max_side)
    finally:
        raw.close()


def _jpeg_orientation(image: Image.Image) -> int | None:
    try:
        value = image.getexif().get(0x0112)
        return int(value) if value is not None else None
    except (OSError, ValueError, TypeError, SyntaxError, struct.error):
        return None


def _turned(decoded: "DecodedImage", transpose, *, source: str, kind: str) -> "DecodedImage":
    from dataclasses import replace

    image, width, height = decoded.image, decoded.original_width, decoded.original_height
    if transpose is not None:
        info = image.info
        image = image.transpose(transpose)
        image.info = info
        if transpose in (Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_270, Image.Transpose.TRANSPOSE,
                         Image.Transpose.TRANSVERSE):
            width, height = height, width
    return replace(decoded, image=image, original_width=width, original_height=height, format="RAW",
                   source=f"{kind} RAW, {source}")


def _half_size(raw, *, why: str, kind: str, max_side: int) -> "DecodedImage":
    """LibRaw's half-size decode (one pixel per 2x2 sensor block, no demosaicing): already upright."""
    import rawpy

    from ml.imaging.decode import DecodedImage

    try:
        pixels = raw.postprocess(half_size=True, use_camera_wb=True, output_bps=8)
    except rawpy.LibRawError as exc:
        raise _libraw_error(exc, kind) from None
    except (MemoryError, ValueError) as exc:
        raise ImageError(f"the RAW file is damaged: {exc} ({kind_words(kind)})") from None
    image = Image.fromarray(np.ascontiguousarray(pixels), "RGB")
    width, height = image.size[0] * 2, image.size[1] * 2
    work = _shrink(image, max_side)
    return DecodedImage(image=work, original_width=width, original_height=height, format="RAW", taken_at=None,
                        scale=max(work.size) / max(width, height),
                        source=f"{kind} RAW, half-size decode ({why})")


def raw_full_image(data: bytes, *, kind: str = "RAW", max_pixels: int) -> Image.Image:
    """The RAW's pixels at the best resolution it offers without a full demosaic, upright (for 100 % zooms)."""
    decoded = decode_raw(io.BytesIO(data), kind=kind, max_side=1 << 30, max_pixels=max_pixels)
    return decoded.image
