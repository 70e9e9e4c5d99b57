"""XMP inside HEIF (HEIC) files, for `xmp_embed`: find the XMP item, and plan a copy with a new one.

HEIF is ISOBMFF: `ftyp`, a `meta` box describing items (`pitm` the primary image, `iinf` item infos, `iloc`
where each item's bytes are, `iref` references between items), and `mdat` with the coded data. XMP is an
item of type `mime` with content type `application/rdf+xml`, linked to the primary image by an `iref` `cdsc`
("content describes") reference.

Nothing moves, as with TIFF: the old `meta` box becomes a `free` box of the same size (only its type changes)
and a new `meta` is appended at the end, followed by an `mdat` holding the packet. The new meta is the old one
plus the XMP item (or with the existing XMP item pointed at the new packet), so every absolute offset in the
file (other items' `iloc` extents, a sequence's chunk offsets) stays valid. Writing again reclaims that tail
instead of stacking another one. libheif and exiftool read a `meta` after `mdat` (the tests check both).

Every read is bounds-checked: a truncated or hostile file raises XmpError and is left alone.
"""
from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from .xmp_packet import MAX_PACKET_BYTES, XmpError

Reader = Callable[[int, int], bytes]  # (offset, n) -> exactly n bytes of the file, or XmpError
Piece = bytes | tuple[int, int]  # as in xmp_embed: new bytes, or (offset, length) copied from the source

XMP_TYPE = b"application/rdf+xml"
_MAX_TOP_BOXES = 10_000
_MAX_META = 16 * 1024 * 1024
_MAX_ITEMS = 65_536
DAMAGED = "the HEIF file's boxes are damaged"


@dataclass(frozen=True)
class _Box:
    kind: bytes
    start: int
    header: int  # 8, or 16 with a 64-bit size
    end: int
    to_eof: bool = False  # size 0: "runs to the end of the file"

    @property
    def body(self) -> int:
        return self.start + self.header


def _walk(read: Reader, start: int, end: int, limit: int = _MAX_TOP_BOXES) -> list[_Box]:
    boxes = []
    pos = start
    while pos < end:
        if end - pos < 8 or len(boxes) >= limit:
            raise XmpError(DAMAGED)
        declared, kind = struct.unpack(">I4s", read(pos, 8))
        size, header = declared, 8
        if declared == 1:
            size, header = struct.unpack(">Q", read(pos + 8, 8))[0], 16
        elif declared == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise XmpError(DAMAGED)
        boxes.append(_Box(kind, pos, header, pos + size, to_eof=declared == 0))
        pos += size
    return boxes


def _in(data: bytes) -> Reader:
    def read(offset: int, n: int) -> bytes:
        if offset < 0 or offset + n > len(data):
            raise XmpError("the HEIF file's metadata is damaged")
        return data[offset:offset + n]
    return read


class _Cursor:
    """Reads big-endian fields from a box held in memory, never past its end."""

    def __init__(self, data: bytes, pos: int, end: int) -> None:
        self.data, self.pos, self.end = data, pos, end

    def take(self, n: int) -> bytes:
        if self.pos + n > self.end:
            raise XmpError("the HEIF file's metadata is damaged")
        self.pos += n
        return self.data[self.pos - n:self.pos]

    def uint(self, n: int) -> int:
        return int.from_bytes(self.take(n), "big")

    def cstring(self) -> bytes:
        stop = self.data.find(b"\x00", self.pos, self.end)
        if stop < 0:
            raise XmpError("the HEIF file's metadata is damaged")
        return self.take(stop + 1 - self.pos)[:-1]


def _uint(value: int, n: int) -> bytes:
    if value >= 256 ** n:
        raise XmpError("the HEIF file's item fields are too small for its new XMP item")
    return value.to_bytes(n, "big")


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


@dataclass
class _Iloc:
    version: int
    sizes: tuple[int, int, int, int]  # offset, length, base offset, index (bytes each)
    entries: dict[int, tuple[int, int]]  # item id -> its entry's (start, end) in the meta's bytes
    start: int  # where the entries start

    def extents(self, data: bytes, item: int) -> tuple[int, int, list[tuple[int, int]]]:
        """(construction method, data reference (0: this file), [(offset, length)]) of one item."""
        offset_size, length_size, base_size, index_size = self.sizes
        cur = _Cursor(data, *self.entries[item])
        cur.take(2 if self.version < 2 else 4)
        method = cur.uint(2) & 0xF if self.version in (1, 2) else 0
        reference = cur.uint(2)
        base = cur.uint(base_size)
        extents = []
        for _ in range(cur.uint(2)):
            cur.take(index_size if self.version in (1, 2) else 0)
            extents.append((base + cur.uint(offset_size), cur.uint(length_size)))
        return method, reference, extents

    def entry(self, item: int, offset: int, length: int) -> bytes:
        """One extent at an absolute file offset (construction method 0)."""
        offset_size, length_size, base_size, index_size = self.sizes
        if length_size == 0 or not (offset_size or base_size):
            raise XmpError("the HEIF file's item locations have no room for an offset and a length")
        out = _uint(item, 2 if self.version < 2 else 4)
        out += b"\x00\x00" * (2 if self.version in (1, 2) else 1)  # construction method 0, data reference 0
        out += _uint(0 if offset_size else offset, base_size) + b"\x00\x01"
        out += bytes(index_size if self.version in (1, 2) else 0)
        return out + (_uint(offset, offset_size) if offset_size else b"") + _uint(length, length_size)


def _parse_iloc(data: bytes, box: _Box) -> _Iloc:
    cur = _Cursor(data, box.body, box.end)
    version = cur.uint(1)
    cur.take(3)
    if version > 2:
        raise XmpError(f"the HEIF file's item locations are version {version}, which is not read")
    a, b = cur.take(2)
    sizes = (a >> 4, a & 0xF, b >> 4, b & 0xF if version in (1, 2) else 0)
    if any(s not in (0, 4, 8) for s in sizes):
        raise XmpError("the HEIF file's item locations are damaged")
    count = cur.uint(2 if version < 2 else 4)
    start = cur.pos
    entries = {}
    for _ in range(count):
        begin = cur.pos
        item = cur.uint(2 if version < 2 else 4)
        cur.take((2 if version in (1, 2) else 0) + 2 + sizes[2])
        extents = cur.uint(2)
        cur.take(extents * ((sizes[3] if version in (1, 2) else 0) + sizes[0] + sizes[1]))
        if item in entries:
            raise XmpError("the HEIF file's item locations are damaged")
        entries[item] = (begin, cur.pos)
    return _Iloc(version, sizes, entries, start)


@dataclass
class _Meta:
    box: _Box  # the top-level meta box, in the file
    data: bytes  # its bytes
    order: list[_Box]  # its children, positions within `data`
    children: dict[bytes, _Box]  # the first of each kind
    iloc: _Iloc
    primary: int
    items: set[int]
    xmp: int | None  # the XMP item, if there is one


def _parse_meta(read: Reader, box: _Box) -> _Meta:
    if box.end - box.start > _MAX_META:
        raise XmpError("the HEIF file's metadata is too big to be a real one")
    data = read(box.start, box.end - box.start)
    order = _walk(_in(data), box.header + 4, len(data))
    children: dict[bytes, _Box] = {}
    for child in order:
        if child.to_eof or child.kind in children and child.kind in (b"iinf", b"iloc", b"iref", b"pitm", b"idat"):
            raise XmpError("the HEIF file's metadata is damaged")
        children.setdefault(child.kind, child)
    for needed in (b"hdlr", b"pitm", b"iinf", b"iloc"):
        if needed not in children:
            raise XmpError(f"the HEIF file has no {needed.decode()} box")
    hdlr = _Cursor(data, children[b"hdlr"].body, children[b"hdlr"].end)
    if hdlr.take(12)[8:] != b"pict":
        raise XmpError("the HEIF file holds no image")
    pitm = _Cursor(data, children[b"pitm"].body, children[b"pitm"].end)
    primary = pitm.uint(2 if pitm.uint(4) >> 24 == 0 else 4)
    iinf = _Cursor(data, children[b"iinf"].body, children[b"iinf"].end)
    iinf.take(2 if iinf.uint(4) >> 24 == 0 else 4)  # version, flags, entry count
    items, xmp = set(), None
    for infe in _walk(_in(data), iinf.pos, iinf.end, limit=_MAX_ITEMS):
        cur = _Cursor(data, infe.body, infe.end)
        version = cur.uint(4) >> 24
        item = cur.uint(4 if version == 3 else 2)
        items.add(item)
        if version < 2:
            continue  # the first versions have no item type: not an XMP item
        cur.take(2)  # protection index
        if cur.take(4) == b"mime":
            cur.cstring()  # item name
            if cur.cstring().strip() == XMP_TYPE and xmp is None:
                xmp = item
    iloc = _parse_iloc(data, children[b"iloc"])
    if xmp is not None and xmp not in iloc.entries:
        raise XmpError("the HEIF file's XMP item has no location")
    return _Meta(box, data, order, children, iloc, primary, items, xmp)


def _top(read: Reader, size: int) -> tuple[list[_Box], _Meta]:
    boxes = _walk(read, 0, size)
    metas = [b for b in boxes if b.kind == b"meta"]
    if not boxes or boxes[0].kind != b"ftyp" or len(metas) != 1:
        raise XmpError("the HEIF file has no single meta box")
    return boxes, _parse_meta(read, metas[0])


def _xmp_extents(meta: _Meta, size: int) -> tuple[int, list[tuple[int, int]]]:
    """(construction method, [(file offset, length)]) of the XMP item's bytes."""
    method, reference, extents = meta.iloc.extents(meta.data, meta.xmp)
    if reference != 0:
        raise XmpError("the HEIF file's XMP is in another file")
    if method == 0:  # offsets in the file
        source, source_size = 0, size
    elif method == 1 and b"idat" in meta.children:  # offsets in the meta's idat box
        idat = meta.children[b"idat"]
        source, source_size = meta.box.start + idat.body, idat.end - idat.body
    else:
        raise XmpError("the HEIF file's XMP is stored in a way that is not read")
    extents = [(off, length or source_size - off) for off, length in extents]  # 0: to the end
    if any(off < 0 or length < 0 or off + length > source_size for off, length in extents):
        raise XmpError("the HEIF file's XMP item points outside it")
    extents = [(source + off, length) for off, length in extents]
    if sum(length for _, length in extents) > MAX_PACKET_BYTES:
        raise XmpError("the HEIF file's XMP is too big to be a real one")
    return method, extents


def heif_read(read: Reader, size: int) -> bytes | None:
    _, meta = _top(read, size)
    if meta.xmp is None:
        return None
    return b"".join(read(off, length) for off, length in _xmp_extents(meta, size)[1])


def _new_meta(meta: _Meta, xmp_at: int, packet: bytes) -> bytes:
    """The old meta with the XMP item's location at `xmp_at`, the item and its reference added if new."""
    data, iloc = meta.data, meta.iloc
    new = meta.xmp is None
    item = max({meta.primary, *meta.items, *iloc.entries}) + 1 if new else meta.xmp
    if item > 0xFFFF and iloc.version < 2:
        raise XmpError("the HEIF file has no free item number for its XMP")
    ours = iloc.entry(item, xmp_at, len(packet))
    listed = [ours if i == item else data[start:end] for i, (start, end) in iloc.entries.items()]
    if new:
        listed.append(ours)
    count_size = 2 if iloc.version < 2 else 4
    head = data[meta.children[b"iloc"].body:iloc.start - count_size]  # version, flags, field sizes
    payloads = {b"iloc": head + _uint(len(listed), count_size) + b"".join(listed)}
    if new:
        payloads[b"iinf"] = _with_item(meta, item)
        payloads[b"iref"] = _with_reference(meta, item)
    out = [data[meta.box.header:meta.box.header + 4]]  # the meta's version and flags
    for child in meta.order:
        out.append(_box(child.kind, payloads.pop(child.kind)) if child.kind in payloads
                   else data[child.start:child.end])
    out += [_box(kind, payload) for kind, payload in payloads.items()]  # an iref the file didn't have
    return _box(b"meta", b"".join(out))


def _with_item(meta: _Meta, item: int) -> bytes:
    """The iinf payload with a (hidden) XMP item."""
    iinf, data = meta.children[b"iinf"], meta.data
    count_size = 2 if data[iinf.body] == 0 else 4
    count = int.from_bytes(data[iinf.body + 4:iinf.body + 4 + count_size], "big")
    wide = item > 0xFFFF
    infe = _box(b"infe", bytes([3 if wide else 2, 0, 0, 1]) + _uint(item, 4 if wide else 2) + b"\x00\x00mime\x00"
                + XMP_TYPE + b"\x00\x00")
    return (data[iinf.body:iinf.body + 4] + _uint(count + 1, count_size)
            + data[iinf.body + 4 + count_size:iinf.end] + infe)


def _with_reference(meta: _Meta, item: int) -> bytes:
    """The iref payload with "XMP item describes the primary image" (cdsc)."""
    iref, data = meta.children.get(b"iref"), meta.data
    if iref is None:
        head, rest = bytes([0 if max(item, meta.primary) <= 0xFFFF else 1, 0, 0, 0]), b""
    else:
        head, rest = data[iref.body:iref.body + 4], data[iref.body + 4:iref.end]
    width = 2 if head[0] == 0 else 4
    return head + rest + _box(b"cdsc", _uint(item, width) + b"\x00\x01" + _uint(meta.primary, width))


def _reclaimable(meta: _Meta, boxes: list[_Box], size: int) -> bool:
    """Is the file's tail an earlier write's: the meta, then one mdat holding nothing but the XMP?"""
    if meta.xmp is None:
        return False
    xmp = _xmp_extents(meta, size)  # checked even when it isn't reclaimed: a hostile file is refused
    tail = boxes[boxes.index(meta.box) + 1:]
    if len(tail) != 1 or tail[0].kind != b"mdat" or xmp != (0, [(tail[0].body, tail[0].end - tail[0].body)]):
        return False
    for item in meta.iloc.entries:
        method, reference, extents = meta.iloc.extents(meta.data, item)
        if item != meta.xmp and method == 0 and reference == 0 and any(
                length == 0 or off + length > meta.box.start for off, length in extents):
            return False
    return True


def heif_pieces(read: Reader, size: int, packet: bytes) -> list[Piece]:
    """The copy with `packet` as its XMP: the old bytes, a new meta and an mdat with the packet."""
    boxes, meta = _top(read, size)
    patches: list[tuple[int, bytes]] = []
    if _reclaimable(meta, boxes, size):
        cut = meta.box.start
    else:
        cut = size
        patches.append((meta.box.start + 4, b"free"))
        last = boxes[-1]
        if last.to_eof:  # "to the end of the file" would swallow what we append: give it its size
            if last.header != 8 or last.end - last.start >= 2**32:
                raise XmpError("the HEIF file's last box runs to its end and can't be given a size")
            patches.append((last.start, struct.pack(">I", last.end - last.start)))
    xmp_at = cut + len(_new_meta(meta, 0, packet)) + 8  # the entry's fields have fixed widths
    pieces: list[Piece] = []
    pos = 0
    for at, data in sorted(patches):
        pieces += [(pos, at - pos), data]
        pos = at + len(data)
    pieces.append((pos, cut - pos))
    return pieces + [_new_meta(meta, xmp_at, packet), struct.pack(">I4s", 8 + len(packet), b"mdat"), packet]
