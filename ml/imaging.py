"""Open a photo once, cheaply and safely: the working image for analysis plus the thumbnail and preview.

Speed (see shared/notes/decode-speed.md): a 24 MP JPEG costs ~80 ms to entropy-decode even at reduced
size, and Pillow's resize from big sizes costs more than the decode. So JPEGs are decoded straight
to (almost) the working size with DCT scaling (`Image.draft`), which must happen BEFORE the EXIF
orientation is applied (transposing first forces a full 24 MP decode, ~8x slower). What is left is
a small integer `reduce()` plus a bilinear step. Other formats have no reduced decode.

Safety: the type is sniffed from the content (never the file name); dimensions are read from the
header and checked against `max_pixels` before any pixel is decoded; truncated or corrupt data is
an error, never a half-grey picture. Every refusal is an `ImageError` with a readable `.reason`.
"""
from __future__ import annotations

import io
import logging
import os
import re
import struct
import threading
import warnings
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import BinaryIO, Iterator, NamedTuple, Union

import numpy as np
from PIL import ExifTags, Image, ImageFile

log = logging.getLogger(__name__)

Source = Union[bytes, bytearray, memoryview, str, os.PathLike, BinaryIO]

SUPPORTED_FORMATS = ("JPEG", "PNG", "TIFF", "WEBP", "HEIF")
DEFAULT_MAX_PIXELS = 150_000_000
_HEAD_BYTES = 4096  # enough for every signature and for a useful "looks like ..." guess
_SUPPORTED_HINT = "use JPEG, PNG, TIFF, WebP or HEIC"

# Truncated data must fail, not load with a grey bottom (Pillow's default; pinned here on purpose).
ImageFile.LOAD_TRUNCATED_IMAGES = False
# Pillow warns above MAX_IMAGE_PIXELS (89 MP by default) and refuses above twice that. We turn the
# warning into an error, so the Pillow limit must not be below our own documented default, or a
# 102 MP medium-format frame would be refused although decode() promises 150 MP.
if Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS < DEFAULT_MAX_PIXELS:
    Image.MAX_IMAGE_PIXELS = DEFAULT_MAX_PIXELS


class ImageError(ValueError):
    """A file that cannot be used as a photo; `.reason` says why in words a photographer understands."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class DecodedImage:
    image: Image.Image  # RGB, EXIF-oriented, long side <= the max_side asked for
    original_width: int  # oriented size of the full-resolution photo
    original_height: int
    format: str  # one of SUPPORTED_FORMATS
    taken_at: datetime | None  # EXIF DateTimeOriginal (fallback DateTime); aware only if the file says its offset
    scale: float  # working size / original size (e.g. 0.25 for a 6000 px frame decoded at 1500 px)


class HeaderInfo(NamedTuple):
    format: str
    width: int  # as stored, before any EXIF orientation
    height: int

    @property
    def pixels(self) -> int:
        return self.width * self.height


# --------------------------------------------------------------------------------------------
# Sniffing: what is this file?
# --------------------------------------------------------------------------------------------

_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1", b"mif2"}
_AVIF_BRANDS = {b"avif", b"avis"}
_VIDEO_BRANDS = {b"isom", b"iso2", b"mp41", b"mp42", b"qt  ", b"M4V ", b"M4A ", b"3gp4", b"3gp5", b"3g2a", b"avc1", b"dash"}


def _ftyp_brands(head: bytes) -> list[bytes]:
    """Major + compatible brands of an ISO-BMFF `ftyp` box at the start of the file, else []."""
    if len(head) < 16 or head[4:8] != b"ftyp":
        return []
    size = struct.unpack(">I", head[:4])[0]
    end = min(len(head), size if size >= 16 else 16)
    brands = [head[8:12]]
    brands += [head[i : i + 4] for i in range(16, end - 3, 4)]
    return brands


def sniff_format(head: bytes) -> str | None:
    """The supported image format the first bytes announce ("JPEG", "PNG", "TIFF", "WEBP", "HEIF"), else None.

    Give it at least the first 32 bytes (the first few KB for HEIF files with a long brand list).
    Content decides, never the file name: a PDF renamed to .jpg is still a PDF.
    """
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+") and _raw_kind(head) is None:
        return "TIFF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    brands = set(_ftyp_brands(head))
    if brands & (_HEIF_BRANDS - {b"mif1", b"msf1", b"mif2"}):
        return "HEIF"
    if brands & {b"mif1", b"msf1", b"mif2"} and not brands & _AVIF_BRANDS:
        return "HEIF"
    return None


def _raw_kind(head: bytes) -> str | None:
    """Camera RAW containers that share TIFF's signature (or are recognisable from the first bytes)."""
    if head[:4] == b"II*\x00" and head[8:10] == b"CR":
        return "a Canon CR2 RAW file"
    if head[:4] in (b"IIRO", b"IIRS", b"MMOR"):
        return "an Olympus ORF RAW file"
    if head[:4] == b"IIU\x00":
        return "a Panasonic RW2 RAW file"
    if head.startswith(b"FUJIFILMCCD-RAW"):
        return "a Fujifilm RAF RAW file"
    if b"crx " in _ftyp_brands(head):
        return "a Canon CR3 RAW file"
    return None


def describe_content(head: bytes) -> str:
    """A short guess at what a non-image file is, for error messages ("a PDF", "an HTML page", ...)."""
    h = head
    raw = _raw_kind(h)
    if raw:
        return raw
    known = (
        (b"%PDF", "a PDF"),
        (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
        (b"PK\x05\x06", "an empty ZIP archive"),
        (b"GIF87a", "a GIF image"),
        (b"GIF89a", "a GIF image"),
        (b"8BPS", "a Photoshop PSD file"),
        (b"\x1f\x8b", "a gzip archive"),
        (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
        (b"Rar!\x1a\x07", "a RAR archive"),
        (b"\x7fELF", "a program (ELF executable)"),
        (b"MZ", "a Windows program"),
        (b"ID3", "an audio file (MP3)"),
        (b"OggS", "an audio or video file (Ogg)"),
        (b"fLaC", "an audio file (FLAC)"),
        (b"\x1a\x45\xdf\xa3", "a video (MKV/WebM)"),
        (b"\x00\x00\x01\x00", "an icon (ICO)"),
        (b"SQLite format 3\x00", "a database file (SQLite)"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Office document"),
    )
    for magic, what in known:
        if h.startswith(magic):
            return what
    if h[:2] == b"BM" and len(h) >= 10 and h[6:10] == b"\x00\x00\x00\x00":
        return "a BMP image"
    if h[:4] == b"RIFF":
        kind = h[8:12]
        return {b"WAVE": "an audio file (WAV)", b"AVI ": "a video (AVI)"}.get(kind, "a RIFF file")
    brands = set(_ftyp_brands(h))
    if brands & _AVIF_BRANDS:
        return "an AVIF image"
    if brands:
        return "a video (MP4/MOV)" if brands & _VIDEO_BRANDS or b"qt  " in brands else "an MP4-family file"
    if h[:4] in (b"II*\x00", b"MM\x00*"):
        return "a TIFF-based camera RAW file"
    text = _as_text(h)
    if text is not None:
        lowered = text.lstrip().lower()
        if lowered.startswith(("<!doctype html", "<html", "<head", "<body")) or "<html" in lowered[:512]:
            return "an HTML page"
        if "<svg" in lowered[:1024]:
            return "an SVG drawing"
        if lowered.startswith("<?xml"):
            return "an XML document"
        if lowered.startswith(("{", "[")):
            return "a text file (JSON)"
        return "a text file"
    return "unrecognised data"


def _as_text(head: bytes) -> str | None:
    sample = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
    if not sample or b"\x00" in sample:
        return None
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 4:  # a multi-byte character cut at the end of the head is fine
            return None
        text = sample[: exc.start].decode("utf-8")
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    return text if printable >= 0.95 * max(1, len(text)) else None


_OTHER_IMAGE_TYPES = {
    "a GIF image": "GIF",
    "a BMP image": "BMP",
    "a Photoshop PSD file": "PSD",
    "an icon (ICO)": "ICO",
    "an AVIF image": "AVIF",
    "an SVG drawing": "SVG",
}


def _unsupported(head: bytes) -> ImageError:
    what = describe_content(head)
    if "RAW" in what:
        return ImageError(f"camera RAW files are not supported (looks like {what}); upload the JPEG instead")
    if what in _OTHER_IMAGE_TYPES:
        return ImageError(f"unsupported image type: {_OTHER_IMAGE_TYPES[what]} ({_SUPPORTED_HINT})")
    return ImageError(f"not an image (looks like {what})")


# --------------------------------------------------------------------------------------------
# Header-only dimensions (no pixel decoding, no Pillow bomb check: we want the numbers)
# --------------------------------------------------------------------------------------------

_SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _read_exact(fp: BinaryIO, n: int) -> bytes:
    data = fp.read(n)
    if len(data) < n:
        raise ImageError("file is truncated")
    return data


def _jpeg_size(fp: BinaryIO) -> tuple[int, int]:
    """Walk the JPEG marker segments to the frame header (SOFn) and return its (width, height)."""
    fp.seek(2)
    while True:
        byte = _read_exact(fp, 1)
        if byte != b"\xff":
            raise ImageError("corrupt JPEG file (bad marker)")
        marker = _read_exact(fp, 1)[0]
        while marker == 0xFF:  # fill bytes
            marker = _read_exact(fp, 1)[0]
        if marker in (0x01,) or 0xD0 <= marker <= 0xD7:
            continue  # standalone markers
        if marker in (0xD9, 0xDA):
            raise ImageError("corrupt JPEG file (no frame header)")
        length = struct.unpack(">H", _read_exact(fp, 2))[0]
        if length < 2:
            raise ImageError("corrupt JPEG file (bad segment length)")
        if marker in _SOF_MARKERS:
            payload = _read_exact(fp, 5)
            height, width = struct.unpack(">HH", payload[1:5])
            if width == 0 or height == 0:
                raise ImageError("corrupt JPEG file (zero size)")
            return width, height
        fp.seek(length - 2, io.SEEK_CUR)


def _png_size(head: bytes) -> tuple[int, int]:
    if len(head) < 24 or head[12:16] != b"IHDR":
        raise ImageError("corrupt PNG file (no header)" if len(head) >= 24 else "file is truncated")
    width, height = struct.unpack(">II", head[16:24])
    if width == 0 or height == 0:
        raise ImageError("corrupt PNG file (zero size)")
    return width, height


def _webp_size(head: bytes) -> tuple[int, int]:
    if len(head) < 30:
        raise ImageError("file is truncated")
    chunk, data = head[12:16], head[20:]
    if chunk == b"VP8X":
        width = 1 + int.from_bytes(data[4:7], "little")
        height = 1 + int.from_bytes(data[7:10], "little")
    elif chunk == b"VP8 " and data[3:6] == b"\x9d\x01\x2a":
        width = struct.unpack("<H", data[6:8])[0] & 0x3FFF
        height = struct.unpack("<H", data[8:10])[0] & 0x3FFF
    elif chunk == b"VP8L" and data[0] == 0x2F:
        bits = int.from_bytes(data[1:5], "little")
        width, height = 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    else:
        raise ImageError("corrupt WebP file (unknown chunk)")
    if width == 0 or height == 0:
        raise ImageError("corrupt WebP file (zero size)")
    return width, height


_TIFF_TYPES = {3: ("H", 2), 4: ("I", 4), 1: ("B", 1), 16: ("Q", 8)}


def _tiff_size(fp: BinaryIO) -> tuple[int, int]:
    """Width/length of the first IFD; refuses TIFF-based RAW files (DNG, or IFD0 marked as a thumbnail)."""
    fp.seek(0)
    header = _read_exact(fp, 16)
    order = "<" if header[:2] == b"II" else ">"
    big = struct.unpack(order + "H", header[2:4])[0] == 43
    if big:
        offset = struct.unpack(order + "Q", header[8:16])[0]
        count_fmt, entry_size, value_size = "Q", 20, 8
    else:
        offset = struct.unpack(order + "I", header[4:8])[0]
        count_fmt, entry_size, value_size = "H", 12, 4
    fp.seek(offset)
    count = struct.unpack(order + count_fmt, _read_exact(fp, struct.calcsize(count_fmt)))[0]
    if count > 4096:
        raise ImageError("corrupt TIFF file (bad directory)")
    entries = _read_exact(fp, count * entry_size)
    tags: dict[int, int] = {}
    for i in range(count):
        entry = entries[i * entry_size : (i + 1) * entry_size]
        tag, typ = struct.unpack(order + "HH", entry[:4])
        if tag not in (254, 256, 257, 50706) or typ not in _TIFF_TYPES:
            continue
        code, size = _TIFF_TYPES[typ]
        value = entry[entry_size - value_size : entry_size - value_size + size]
        tags[tag] = struct.unpack(order + code, value)[0]
    if 50706 in tags:
        raise ImageError("camera RAW files are not supported (looks like a DNG RAW file); upload the JPEG instead")
    if tags.get(254, 0) & 1:
        # IFD0 is a reduced-resolution image: the layout of NEF/ARW/PEF and other TIFF-based RAWs.
        raise ImageError("camera RAW files are not supported (looks like a TIFF-based RAW file); upload the JPEG instead")
    if not tags.get(256) or not tags.get(257):
        raise ImageError("corrupt TIFF file (no image size)")
    return tags[256], tags[257]


def _heif_size(fp: BinaryIO) -> tuple[int, int]:
    """Largest `ispe` (image spatial extents) property in meta/iprp/ipco: the primary image's size."""
    fp.seek(0)
    data = fp.read(2 << 20)  # the meta box sits near the start; 2 MB is generous
    best: tuple[int, int] | None = None

    def walk(start: int, end: int) -> None:
        nonlocal best
        pos = start
        while pos + 8 <= end:
            size, kind = struct.unpack(">I4s", data[pos : pos + 8])
            header = 8
            if size == 1 and pos + 16 <= end:
                size, header = struct.unpack(">Q", data[pos + 8 : pos + 16])[0], 16
            elif size == 0:
                size = end - pos
            if size < header:
                return
            body = pos + header
            if kind == b"meta":
                walk(body + 4, min(end, pos + size))  # FullBox: skip version/flags
            elif kind in (b"iprp", b"ipco"):
                walk(body, min(end, pos + size))
            elif kind == b"ispe" and body + 12 <= len(data):
                width, height = struct.unpack(">II", data[body + 4 : body + 12])
                if best is None or width * height > best[0] * best[1]:
                    best = (width, height)
            pos += size

    walk(0, len(data))
    if best is None or 0 in best:
        raise ImageError("corrupt HEIF file (no image size)" if len(data) > 64 else "file is truncated")
    return best


def _header_info(fp: BinaryIO, head: bytes) -> HeaderInfo:
    if not head:
        raise ImageError("empty file")
    fmt = sniff_format(head)
    if fmt is None:
        raise _unsupported(head)
    try:
        if fmt == "JPEG":
            width, height = _jpeg_size(fp)
        elif fmt == "PNG":
            width, height = _png_size(head)
        elif fmt == "WEBP":
            width, height = _webp_size(head)
        elif fmt == "TIFF":
            width, height = _tiff_size(fp)
        else:
            width, height = _heif_size(fp)
    except struct.error as exc:
        raise ImageError(f"corrupt {fmt} file (bad header)") from exc
    finally:
        fp.seek(0)
    return HeaderInfo(fmt, width, height)


# --------------------------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------------------------


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


def image_header_info(source: Source) -> HeaderInfo:
    """(format, width, height) from the header alone: cheap enough for an upload validator.

    Raises ImageError for empty files, non-images (saying what they look like), unsupported image
    types and unreadable headers. Pixel data is not checked: a truncated body passes here and fails
    in decode(). The size is as stored (before EXIF orientation).
    """
    with _opened(source) as fp:
        head = fp.read(_HEAD_BYTES)
        fp.seek(0)
        return _header_info(fp, head)


# --------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------

_heif_lock = threading.Lock()
_heif_registered = False


def _register_heif() -> None:
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


def _limit_reason(pixels: int, max_pixels: int) -> str:
    return f"image too large: {pixels / 1e6:.0f} MP (limit {max_pixels / 1e6:.0f} MP)"


# EXIF orientation -> the transpose that turns the stored pixels upright (as ImageOps.exif_transpose).
ORIENTATION_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _read_exif(im: Image.Image) -> Image.Exif | None:
    try:
        return im.getexif()
    except (OSError, ValueError, SyntaxError, struct.error, KeyError, IndexError, TypeError, UnicodeDecodeError) as exc:
        log.info("ignoring unreadable EXIF: %s", exc)  # a broken EXIF block must not cost the photo
        return None


_EXIF_DATE = re.compile(r"^\s*(\d{4})[:\-](\d{2})[:\-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_EXIF_OFFSET = re.compile(r"^\s*([+-])(\d{2}):(\d{2})\s*$")


def _exif_text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if isinstance(value, (tuple, list)) and value:  # some writers store the string as a 1-tuple
        value = value[0]
    return value.strip("\x00 ") if isinstance(value, str) else None


def parse_exif_datetime(value: object, *, subsec: object = None, offset: object = None) -> datetime | None:
    """EXIF "YYYY:MM:DD HH:MM:SS" (+ optional SubSecTime and OffsetTime) -> datetime; junk -> None."""
    text = _exif_text(value)
    match = _EXIF_DATE.match(text) if text else None
    if not match:
        return None
    try:
        stamp = datetime(*(int(part) for part in match.groups()))
    except ValueError:  # "0000:00:00 00:00:00", month 13, ...
        return None
    digits = re.sub(r"\D", "", _exif_text(subsec) or "")[:6]
    if digits:
        stamp = stamp.replace(microsecond=int(digits.ljust(6, "0")))  # burst frames share the second
    off = _EXIF_OFFSET.match(_exif_text(offset) or "")
    if off:
        sign = -1 if off.group(1) == "-" else 1
        delta = timedelta(hours=int(off.group(2)), minutes=int(off.group(3)))
        if delta <= timedelta(hours=14):
            stamp = stamp.replace(tzinfo=timezone(sign * delta))
    return stamp


def _taken_at(exif: Image.Exif | None) -> datetime | None:
    if exif is None:
        return None
    try:
        sub = exif.get_ifd(ExifTags.IFD.Exif)
    except (OSError, ValueError, SyntaxError, struct.error, KeyError, IndexError, TypeError) as exc:
        log.info("ignoring unreadable EXIF sub-IFD: %s", exc)
        sub = {}
    taken = parse_exif_datetime(
        sub.get(ExifTags.Base.DateTimeOriginal),
        subsec=sub.get(ExifTags.Base.SubsecTimeOriginal),
        offset=sub.get(ExifTags.Base.OffsetTimeOriginal),
    )
    if taken is None:
        taken = parse_exif_datetime(
            exif.get(ExifTags.Base.DateTime),
            subsec=sub.get(ExifTags.Base.SubsecTime),
            offset=sub.get(ExifTags.Base.OffsetTime),
        )
    return taken


def _looks_cut_short(im: Image.Image) -> bool:
    """True when a JPEG hit an early end-of-image marker and libjpeg filled the rest with flat grey.

    Pillow raises for data that simply stops, but a file cut short and closed with an EOI marker
    decodes "successfully" with every missing block at exactly 128. Camera frames are never exactly
    128 across a whole pixel row (sensor noise), so a fully 128 last row in a multi-megapixel frame
    that is not flat grey everywhere means missing data.
    """
    if im.mode not in ("RGB", "L"):
        return False
    width, height = im.size
    last_row = im.crop((0, height - 1, width, height)).tobytes()
    if last_row.strip(b"\x80"):
        return False
    extrema = im.getextrema()
    flat = extrema == (128, 128) if im.mode == "L" else all(band == (128, 128) for band in extrema)
    return not flat


def _to_rgb(im: Image.Image) -> Image.Image:
    """Any Pillow mode -> 8-bit RGB; transparency is flattened onto white (previews of cut-outs)."""
    mode = im.mode
    if mode == "RGB":
        return im
    if mode.startswith("I;16") or mode in ("I", "F"):
        # Pillow's own I;16 -> L conversion clips at 255 instead of scaling (a 16-bit PNG turns white).
        arr = np.asarray(im)
        if mode == "F":
            arr = np.nan_to_num(arr.astype(np.float32))
            if arr.size and float(arr.max()) <= 1.0:
                arr = arr * 255.0  # 0-1 float data
        else:
            peak = int(arr.max(initial=0))
            if mode.startswith("I;16") or 255 < peak <= 0xFFFF:
                arr = arr.astype(np.uint32) >> 8
            elif peak > 0xFFFF:
                arr = arr.astype(np.float64) * (255.0 / peak)
        gray = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "L")
        return gray.convert("RGB")
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info
    if has_alpha:
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return im.convert("RGB")


def _shrink(im: Image.Image, max_side: int) -> Image.Image:
    """Long side down to max_side: integer box reduce() first (cheap), then one small bilinear step."""
    width, height = im.size
    long_side = max(width, height)
    if long_side <= max_side:
        return im
    factor = long_side // max_side
    if factor >= 2:
        im = im.reduce(factor)
        width, height = im.size
        long_side = max(width, height)
    if long_side > max_side:
        ratio = max_side / long_side
        target = (max(1, round(width * ratio)), max(1, round(height * ratio)))
        im = im.resize(target, Image.Resampling.BILINEAR)
    return im


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


def decode(source: Source, *, max_side: int = WORKING_SIDE, max_pixels: int = DEFAULT_MAX_PIXELS) -> DecodedImage:
    """Decode a photo to an EXIF-oriented RGB working image with long side <= max_side.

    JPEGs are decoded at the largest DCT reduction (1/2, 1/4, 1/8) that still yields >= 80% of
    max_side, then shrunk if above it; e.g. 6000x4000 with the default 1600 is a pure 1/4 decode to
    1500x1000 (~80 ms), while max_side=2000 means a 1/2 decode plus a 3000->2000 step (~+40 ms). Multi-frame files give their first frame.

    Raises ImageError (empty, not an image, unsupported type, truncated/corrupt, too large).
    A path that does not exist raises FileNotFoundError as usual.
    """
    if max_side < 1:
        raise ValueError("max_side must be positive")
    with _opened(source) as fp:
        head = fp.read(_HEAD_BYTES)
        fp.seek(0)
        header = _header_info(fp, head)
        fmt = header.format
        # Bombs are refused from the header numbers, before Pillow allocates anything.
        if header.pixels > max_pixels:
            raise ImageError(_limit_reason(header.pixels, max_pixels))
        if fmt == "HEIF":
            _register_heif()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                im = Image.open(fp, formats=[fmt])
                width, height = im.size
                if width * height > max_pixels:
                    raise ImageError(_limit_reason(width * height, max_pixels))
                if fmt == "JPEG":
                    factor = _dct_factor(max(width, height), max_side)
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
    )


# --------------------------------------------------------------------------------------------
# Derivatives for the web app
# --------------------------------------------------------------------------------------------


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
