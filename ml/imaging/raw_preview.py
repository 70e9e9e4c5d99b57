"""The largest embedded JPEG preview of a TIFF-based camera RAW, found by reading its directories alone.

Most RAWs (DNG, CR2, NEF, ARW, PEF, SRW, 3FR, RWL) are TIFF files whose directories say where a full-size
JPEG preview sits: IFD0 or a SubIFD as a JPEG strip (Compression 6 or 7), or as a JPEGInterchangeFormat
blob (tags 513/514). Reading those directories and then only the preview's bytes costs well under a
millisecond and never reads the sensor data, where LibRaw (ml.imaging.raw) wants the whole file in memory
and takes 7-15 ms to hand the same preview back. Anything this doesn't find, or can't trust, is left to
LibRaw: callers fall back to it on None.

Only baseline or progressive JPEGs count (SOF0/1/2): a CR2's raw data and a compressed DNG's tiles are
lossless JPEG (SOF3) streams with the same markers. Every read is bounds-checked against the file's size.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO

_MAX_IFDS = 32
_MAX_ENTRIES = 4096
_SOF_HEAD = 64 * 1024  # where a preview's SOF marker must appear (after its EXIF/APP segments)
_MIN_BYTES = 4096
_SENSOR_PHOTOMETRIC = {32803, 34892}  # CFA, LinearRaw: sensor data, never a preview
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 6: 1, 7: 1, 8: 2, 9: 4, 13: 4, 16: 8, 17: 8, 18: 8}


@dataclass(frozen=True)
class TiffPreview:
    offset: int
    length: int
    width: int
    height: int
    orientation: int  # IFD0's Orientation tag (1 when absent)


def _read(fp: BinaryIO, offset: int, n: int, size: int) -> bytes | None:
    if offset < 0 or n < 0 or offset + n > size:
        return None
    fp.seek(offset)
    data = fp.read(n)
    return data if len(data) == n else None


def _ifd(fp: BinaryIO, offset: int, order: str, size: int) -> tuple[dict[int, list[int]], int] | None:
    """(tag -> its integer values, the next IFD's offset) of the classic-TIFF directory at `offset`."""
    raw = _read(fp, offset, 2, size)
    if raw is None:
        return None
    count = struct.unpack(order + "H", raw)[0]
    if count > _MAX_ENTRIES:
        return None
    entries = _read(fp, offset + 2, count * 12 + 4, size)
    if entries is None:
        return None
    tags: dict[int, list[int]] = {}
    for i in range(count):
        tag, typ, n = struct.unpack(order + "HHI", entries[i * 12 : i * 12 + 8])
        if typ not in (3, 4, 13) or n == 0 or n > 1024:  # SHORT, LONG, IFD: offsets, sizes, orientation
            continue
        width = _TYPE_SIZES[typ]
        fmt = order + ("H" if typ == 3 else "I") * n
        if n * width <= 4:
            data = entries[i * 12 + 8 : i * 12 + 8 + n * width]
        else:
            where = struct.unpack(order + "I", entries[i * 12 + 8 : i * 12 + 12])[0]
            data = _read(fp, where, n * width, size)
            if data is None:
                continue
        tags[tag] = list(struct.unpack(fmt, data))
    return tags, struct.unpack(order + "I", entries[count * 12 : count * 12 + 4])[0]


def _jpeg_size(head: bytes) -> tuple[int, int] | None:
    """(width, height) from a baseline/progressive JPEG's SOF marker; None for anything else (SOF3: lossless)."""
    if head[:2] != b"\xff\xd8":
        return None
    pos = 2
    while pos + 4 <= len(head):
        if head[pos] != 0xFF:
            return None
        marker = head[pos + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        length = struct.unpack(">H", head[pos + 2 : pos + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            if pos + 9 > len(head):
                return None
            height, width = struct.unpack(">HH", head[pos + 5 : pos + 9])
            return (width, height) if width and height else None
        if 0xC3 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC) or marker == 0xDA:
            return None  # lossless / arithmetic coding, or image data before any usable SOF
        pos += 2 + length
    return None


def tiff_preview(fp: BinaryIO, size: int) -> TiffPreview | None:
    """The largest trustworthy JPEG preview in a classic TIFF RAW's directories, or None."""
    header = _read(fp, 0, 8, size)
    if header is None or header[:4] not in (b"II*\x00", b"MM\x00*"):
        return None
    order = "<" if header[:2] == b"II" else ">"
    queue = [struct.unpack(order + "I", header[4:8])[0]]
    seen: set[int] = set()
    orientation = 1
    candidates: list[tuple[int, int]] = []
    while queue and len(seen) < _MAX_IFDS:
        offset = queue.pop(0)
        if offset in seen or offset < 8:
            continue
        seen.add(offset)
        found = _ifd(fp, offset, order, size)
        if found is None:
            continue
        tags, next_ifd = found
        if not candidates and len(seen) == 1 and tags.get(274):
            orientation = tags[274][0] if 1 <= tags[274][0] <= 8 else 1
        queue += [o for o in tags.get(330, []) if o not in seen] + ([next_ifd] if next_ifd else [])
        if 513 in tags and 514 in tags:
            candidates.append((tags[513][0], tags[514][0]))
        photometric = (tags.get(262) or [0])[0]
        if (tags.get(259) or [0])[0] in (6, 7) and photometric not in _SENSOR_PHOTOMETRIC \
                and len(tags.get(273, [])) == 1 and len(tags.get(279, [])) == 1:
            candidates.append((tags[273][0], tags[279][0]))
    best: TiffPreview | None = None
    for start, length in candidates:
        if length < _MIN_BYTES or start + length > size:
            continue
        head = _read(fp, start, min(length, _SOF_HEAD), size)
        dims = _jpeg_size(head) if head else None
        if dims and (best is None or dims[0] * dims[1] > best.width * best.height):
            best = TiffPreview(start, length, dims[0], dims[1], orientation)
    return best


def tiff_preview_bytes(fp: BinaryIO, size: int) -> tuple[bytes, TiffPreview] | None:
    """The preview's JPEG bytes (only they are read) and where they came from, or None."""
    found = tiff_preview(fp, size)
    if found is None:
        return None
    data = _read(fp, found.offset, found.length, size)
    return (data, found) if data else None
