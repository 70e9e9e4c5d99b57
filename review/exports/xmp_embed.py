"""XMP inside the file itself, for JPEG, TIFF/DNG and HEIC: read the packet there, write a copy with a new one.

Pixels are never decoded or re-encoded; the new file is the old one's bytes with only the metadata moved:
* JPEG: the XMP APP1 segment (`http://ns.adobe.com/xap/1.0/`) is replaced, or inserted after the leading
  JFIF/Exif segments; everything from the first non-APP segment on is copied byte for byte. Extended XMP
  segments stay as they are (their GUID names their own content, which we don't change).
* TIFF and DNG: nothing moves. A new copy of IFD0, with tag 700 (XMP) pointing at the new packet, is appended
  at the end and the header points at it; every other offset in the file stays valid because no byte before
  the old end changes except the header's IFD0 pointer.
* HEIF (HEIC): nothing moves either. The old `meta` box becomes a `free` box and a new one, with the XMP item
  and its location, is appended with an `mdat` holding the packet (`xmp_heif`).
Proprietary RAWs are not written into (editors expect sidecars beside them), nor AVIF, PNG or WebP: callers
give those a sidecar.

Every read is bounds-checked: a truncated or hostile file raises XmpError with a reason and is left alone.
"""
from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import BinaryIO

from ml.imaging import sniff_format

from .xmp_heif import heif_pieces, heif_read
from .xmp_packet import XmpError

JPEG, TIFF, HEIF = "jpeg", "tiff", "heif"
HEAD_BYTES = 4096  # what `sniff` needs: a HEIF's ftyp box lists its brands
XMP_APP1 = b"http://ns.adobe.com/xap/1.0/\x00"
MAX_APP1_PACKET = 65535 - 2 - len(XMP_APP1)  # one APP1 segment's payload limit
XMP_TAG = 700
_MAX_IFD_ENTRIES = 4096
CHUNK = 1024 * 1024
UNSUPPORTED = "only JPEG, TIFF, DNG and HEIC files get XMP written into them"

Piece = bytes | tuple[int, int]  # new bytes, or (offset, length) copied from the source


def sniff(head: bytes) -> str | None:
    """JPEG, classic TIFF (DNG is one) or HEIF by content (give it HEAD_BYTES); None for anything we don't
    write into (AVIF and CR3 share HEIF's container but are not written into)."""
    if head[:3] == b"\xff\xd8\xff":
        return JPEG
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return TIFF
    if sniff_format(head) == "HEIF":
        return HEIF
    return None


def _size(src: BinaryIO) -> int:
    src.seek(0, 2)
    return src.tell()


def _read(src: BinaryIO, offset: int, n: int, size: int) -> bytes:
    if offset < 0 or n < 0 or offset + n > size:
        raise XmpError("the file is truncated or its metadata points outside it")
    src.seek(offset)
    data = src.read(n)
    if len(data) != n:
        raise XmpError("the file is truncated")
    return data


# --- JPEG ----------------------------------------------------------------------------------------------


def _jpeg_segments(src: BinaryIO, size: int) -> tuple[list[tuple[int, int, int]], int]:
    """The APPn/COM/... segments before the image data: (marker, offset, total length), and where the rest starts."""
    segments = []
    pos = 2
    while True:
        head = _read(src, pos, 4, size)
        if head[0] != 0xFF:
            raise XmpError("the JPEG's segments are damaged")
        marker = head[1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if not (0xE0 <= marker <= 0xEF or marker == 0xFE):  # image data (DQT, SOF, ...) starts: copy the rest
            return segments, pos
        length = struct.unpack(">H", head[2:4])[0]
        if length < 2:
            raise XmpError("the JPEG's segments are damaged")
        _read(src, pos, 2 + length, size)  # bounds
        segments.append((marker, pos, 2 + length))
        pos += 2 + length


def _is_xmp(src: BinaryIO, marker: int, offset: int, length: int, size: int) -> bool:
    return marker == 0xE1 and length >= 4 + len(XMP_APP1) and _read(src, offset + 4, len(XMP_APP1), size) == XMP_APP1


def _jpeg_read(src: BinaryIO, size: int) -> bytes | None:
    segments, _ = _jpeg_segments(src, size)
    for marker, offset, length in segments:
        if _is_xmp(src, marker, offset, length, size):
            start = offset + 4 + len(XMP_APP1)
            return _read(src, start, offset + length - start, size)
    return None


def _jpeg_pieces(src: BinaryIO, size: int, packet: bytes) -> list[Piece]:
    if len(packet) > MAX_APP1_PACKET:
        raise XmpError(f"its XMP would be {len(packet)} bytes, more than a JPEG segment holds")
    segment = b"\xff\xe1" + struct.pack(">H", 2 + len(XMP_APP1) + len(packet)) + XMP_APP1 + packet
    segments, rest = _jpeg_segments(src, size)
    pieces: list[Piece] = [(0, 2)]  # SOI
    placed = False
    for i, (marker, offset, length) in enumerate(segments):
        if _is_xmp(src, marker, offset, length, size):
            if not placed:
                pieces.append(segment)
                placed = True
            continue  # a second standard XMP segment is invalid anyway: ours replaces both
        leading = all(m in (0xE0, 0xE1) for m, _, _ in segments[: i + 1])
        if not placed and not leading:
            pieces.append(segment)  # after JFIF (APP0) and Exif (APP1), which must come first
            placed = True
        pieces.append((offset, length))
    if not placed:
        pieces.append(segment)
    pieces.append((rest, size - rest))
    return pieces


# --- TIFF / DNG -----------------------------------------------------------------------------------------


def _tiff_ifd0(src: BinaryIO, size: int) -> tuple[str, int, list[bytes], bytes]:
    """(byte order, IFD0 offset, its raw 12-byte entries, its next-IFD pointer)."""
    head = _read(src, 0, 8, size)
    order = "<" if head[:2] == b"II" else ">"
    if struct.unpack(order + "H", head[2:4])[0] != 42:
        raise XmpError("a BigTIFF is not written into")
    ifd = struct.unpack(order + "I", head[4:8])[0]
    count = struct.unpack(order + "H", _read(src, ifd, 2, size))[0]
    if count == 0 or count > _MAX_IFD_ENTRIES:
        raise XmpError("the TIFF's first directory is damaged")
    raw = _read(src, ifd + 2, 12 * count + 4, size)
    entries = [raw[i * 12:(i + 1) * 12] for i in range(count)]
    return order, ifd, entries, raw[-4:]


def _tiff_read(src: BinaryIO, size: int) -> bytes | None:
    order, _, entries, _ = _tiff_ifd0(src, size)
    for entry in entries:
        tag, kind, count, value = struct.unpack(order + "HHII", entry)
        if tag == XMP_TAG:
            if kind not in (1, 7):
                raise XmpError("the TIFF's XMP tag has the wrong type")
            return entry[8:8 + count] if count <= 4 else _read(src, value, count, size)
    return None


def _tiff_pieces(src: BinaryIO, size: int, packet: bytes) -> list[Piece]:
    order, _, entries, next_ifd = _tiff_ifd0(src, size)
    pad = b"\x00" if size % 2 else b""  # TIFF offsets are word-aligned
    ifd_at = size + len(pad)
    kept = [e for e in entries if struct.unpack(order + "H", e[:2])[0] != XMP_TAG]
    xmp_at = ifd_at + 2 + 12 * (len(kept) + 1) + 4
    new_entry = struct.pack(order + "HHII", XMP_TAG, 1, len(packet), xmp_at)
    ordered = sorted([*kept, new_entry], key=lambda e: struct.unpack(order + "H", e[:2])[0])
    if xmp_at + len(packet) >= 2**32:
        raise XmpError("the file would pass 4 GB, which a TIFF can't")
    ifd = struct.pack(order + "H", len(ordered)) + b"".join(ordered) + next_ifd
    header = _read(src, 0, 4, size) + struct.pack(order + "I", ifd_at)
    return [header, (8, size - 8), pad + ifd, packet]


# --- The two operations ---------------------------------------------------------------------------------


def read_embedded(src: BinaryIO) -> bytes | None:
    """The file's own XMP packet, or None. Raises XmpError for a file we can't read or won't write."""
    size = _size(src)
    kind = sniff(_read(src, 0, min(size, HEAD_BYTES), size))
    if kind == JPEG:
        return _jpeg_read(src, size)
    if kind == TIFF:
        return _tiff_read(src, size)
    if kind == HEIF:
        return heif_read(lambda offset, n: _read(src, offset, n, size), size)
    raise XmpError(UNSUPPORTED)


def write_embedded(src: BinaryIO, dst: BinaryIO, packet: bytes) -> None:
    """Copy `src` to `dst` with `packet` as its XMP. Everything is checked before the first byte is written."""
    size = _size(src)
    kind = sniff(_read(src, 0, min(size, HEAD_BYTES), size))
    if kind == JPEG:
        pieces = _jpeg_pieces(src, size, packet)
    elif kind == TIFF:
        pieces = _tiff_pieces(src, size, packet)
    elif kind == HEIF:
        pieces = heif_pieces(lambda offset, n: _read(src, offset, n, size), size, packet)
    else:
        raise XmpError(UNSUPPORTED)
    _write_pieces(src, dst, pieces)


def _write_pieces(src: BinaryIO, dst: BinaryIO, pieces: Iterable[Piece]) -> None:
    for piece in pieces:
        if isinstance(piece, bytes):
            dst.write(piece)
            continue
        offset, length = piece
        src.seek(offset)
        remaining = length
        while remaining:
            chunk = src.read(min(CHUNK, remaining))
            if not chunk:
                raise XmpError("the file got shorter while it was copied")
            dst.write(chunk)
            remaining -= len(chunk)
