"""Header-only dimensions (no pixel decoding, no Pillow bomb check: we want the numbers)."""
from __future__ import annotations

import io
import struct
from typing import BinaryIO, NamedTuple

from ml.imaging.errors import ImageError
from ml.imaging.raw import raw_kind, raw_size, tiff_raw_kind
from ml.imaging.sniff import _HEAD_BYTES, _unsupported, describe_content, sniff_format
from ml.imaging.sources import Source, _opened


class HeaderInfo(NamedTuple):
    format: str
    width: int  # as stored, before any EXIF orientation
    height: int

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def kind(self) -> str:
        """For format "RAW": which one ("CR3", "NEF", "DNG", ... see ml.imaging.raw.RAW_KINDS); else ''."""
        return ""


class RawHeaderInfo(HeaderInfo):
    """A camera RAW's header: still equal to ("RAW", width, height), and it knows its kind."""

    def __new__(cls, width: int, height: int, kind: str) -> "RawHeaderInfo":
        info = super().__new__(cls, "RAW", width, height)
        info._kind = kind
        return info

    @property
    def kind(self) -> str:
        return self._kind


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


def _tiff_tags(fp: BinaryIO) -> dict[int, object]:
    """The IFD0 tags that tell an image from a camera RAW: subfile type, size, photometric, Make, SubIFDs,
    DNGVersion (numbers as ints, Make as text)."""
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
    tags: dict[int, object] = {}
    for i in range(count):
        entry = entries[i * entry_size : (i + 1) * entry_size]
        tag, typ = struct.unpack(order + "HH", entry[:4])
        value = entry[entry_size - value_size :]
        if tag == 271 and typ == 2:  # Make, ASCII: inline up to value_size bytes, else at an offset
            length = struct.unpack(order + count_fmt, entry[4 : 4 + struct.calcsize(count_fmt)])[0]
            if length <= value_size:
                text = value[:length]
            else:
                where = struct.unpack(order + ("Q" if big else "I"), value)[0]
                fp.seek(where)
                text = fp.read(min(length, 64))
            tags[tag] = text.split(b"\x00", 1)[0].decode("ascii", "replace").strip()
        elif tag in (254, 256, 257, 262, 330, 50706) and typ in _TIFF_TYPES:
            code, size = _TIFF_TYPES[typ]
            tags[tag] = struct.unpack(order + code, value[:size])[0]
    return tags


def _tiff_size(tags: dict[int, object]) -> tuple[int, int]:
    if not tags.get(256) or not tags.get(257):
        raise ImageError("corrupt TIFF file (no image size)")
    return int(tags[256]), int(tags[257])


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


def _header_info(fp: BinaryIO, head: bytes, open_raw: bool = True) -> HeaderInfo:
    if not head:
        raise ImageError("empty file")
    fmt = sniff_format(head)
    if fmt is None:
        if open_raw and describe_content(head) == "unrecognised data":
            return _libraw_header(fp, head)  # a RAW kind we don't know by its bytes, if LibRaw does
        raise _unsupported(head)
    try:
        if fmt == "RAW":
            kind = raw_kind(head) or "RAW"
            return RawHeaderInfo(*(raw_size(fp, kind) if open_raw else (0, 0)), kind)
        if fmt == "JPEG":
            width, height = _jpeg_size(fp)
        elif fmt == "PNG":
            width, height = _png_size(head)
        elif fmt == "WEBP":
            width, height = _webp_size(head)
        elif fmt == "TIFF":
            tags = _tiff_tags(fp)
            kind = tiff_raw_kind(tags)
            if kind is not None:
                return RawHeaderInfo(*(raw_size(fp, kind) if open_raw else (0, 0)), kind)
            width, height = _tiff_size(tags)
        else:
            width, height = _heif_size(fp)
    except struct.error as exc:
        raise ImageError(f"corrupt {fmt} file (bad header)") from exc
    finally:
        fp.seek(0)
    return HeaderInfo(fmt, width, height)


def _libraw_header(fp: BinaryIO, head: bytes) -> HeaderInfo:
    try:
        width, height = raw_size(fp, "RAW")
    except ImageError:
        raise _unsupported(head) from None
    finally:
        fp.seek(0)
    return RawHeaderInfo(width, height, "RAW")


def image_header_info(source: Source, *, open_raw: bool = True) -> HeaderInfo:
    """(format, width, height) from the header alone: cheap enough for an upload validator.

    Raises ImageError for empty files, non-images (saying what they look like), unsupported image
    types and unreadable headers. Pixel data is not checked: a truncated body passes here and fails
    in decode(). The size is as stored (before EXIF orientation).

    `open_raw=False` reads only the first bytes of a camera RAW (its size is then 0 x 0, left to decode()):
    LibRaw reads a whole file, which a caller holding only the start of a stored object can't give it.
    """
    with _opened(source) as fp:
        head = fp.read(_HEAD_BYTES)
        fp.seek(0)
        return _header_info(fp, head, open_raw)
