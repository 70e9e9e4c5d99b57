"""Small camera RAW files made by tests and the bench: a DNG holding a real JPEG preview.

A DNG is a TIFF: IFD0 is the preview (NewSubfileType 1, a JPEG in one strip, rowsperstrip = its
height), the sensor's CFA data sits in a SubIFD. LibRaw reads the preview exactly as it reads a
camera's, so the worker's preview path is tested without camera files in the repository. Written by
hand (tifffile wants imagecodecs even for pre-encoded strips).
"""
from __future__ import annotations

import io
import struct

import numpy as np
from PIL import Image

_TYPES = {"B": (1, "B"), "A": (2, "s"), "H": (3, "H"), "L": (4, "I")}  # TIFF type code, struct code


def _ifd_bytes(entries: list[tuple[int, str, object]], start: int, next_ifd: int = 0) -> tuple[bytes, bytes]:
    """One IFD at offset `start` followed by its out-of-line values: (ifd bytes, value bytes)."""
    entries = sorted(entries)
    ifd_size = 2 + 12 * len(entries) + 4
    values = bytearray()
    out = bytearray(struct.pack("<H", len(entries)))
    for tag, kind, value in entries:
        code, fmt = _TYPES[kind]
        if kind == "A":
            raw = value.encode("ascii") + b"\x00"
            count = len(raw)
        else:
            items = value if isinstance(value, (tuple, list)) else (value,)
            raw = struct.pack("<" + fmt * len(items), *items)
            count = len(items)
        if len(raw) <= 4:
            field = raw.ljust(4, b"\x00")
        else:
            field = struct.pack("<I", start + ifd_size + len(values))
            values += raw + (b"\x00" if len(raw) % 2 else b"")
        out += struct.pack("<HHI", tag, code, count) + field
    out += struct.pack("<I", next_ifd)
    return bytes(out), bytes(values)


def preview_jpeg(width: int, height: int, *, quality: int = 85, seed: int = 1) -> bytes:
    """A camera-like preview: a gradient with a red block in the top-left quarter, plus sensor noise."""
    rng = np.random.default_rng(seed)
    x = np.linspace(40, 220, width, dtype=np.float32)
    arr = np.repeat(np.repeat(x[None, :, None], height, axis=0), 3, axis=2)
    arr[: height // 4, : width // 4] = (210, 40, 40)
    arr += rng.normal(0, 3, arr.shape).astype(np.float32)
    buf = io.BytesIO()
    Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB").save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def dng_bytes(*, preview: bytes | None = None, preview_size: tuple[int, int] = (1800, 1200), orientation: int = 1,
              sensor_size: tuple[int, int] = (96, 64), make: str = "Eye Spy", model: str = "Test Camera") -> bytes:
    """A DNG (little-endian TIFF): IFD0 = the JPEG preview, SubIFD = a flat 12-bit CFA of `sensor_size`.

    `preview=None` makes one of `preview_size`; `orientation` is the EXIF/TIFF Orientation tag of the RAW.
    """
    if preview is None:
        preview = preview_jpeg(*preview_size)
    with Image.open(io.BytesIO(preview)) as im:
        pw, ph = im.size
    sw, sh = sensor_size
    cfa = (np.full((sh, sw), 1000, dtype="<u2")).tobytes()

    header = 8
    ifd0_entries = 16
    ifd0_len_guess = 2 + 12 * ifd0_entries + 4 + 64  # + out-of-line values (bits, strings), padded below
    ifd0_at = header
    sub_at = ifd0_at + 512
    data_at = sub_at + 512
    preview_at = data_at
    cfa_at = preview_at + len(preview) + (len(preview) % 2)
    ifd0, ifd0_values = _ifd_bytes([
        (254, "L", 1), (256, "L", pw), (257, "L", ph), (258, "H", (8, 8, 8)), (259, "H", 7), (262, "H", 6),
        (271, "A", make), (272, "A", model), (273, "L", preview_at), (274, "H", orientation), (277, "H", 3),
        (278, "L", ph), (279, "L", len(preview)), (330, "L", sub_at), (50706, "B", (1, 4, 0, 0)),
        (50708, "A", f"{make} {model}"),
    ], ifd0_at)
    sub, sub_values = _ifd_bytes([
        (254, "L", 0), (256, "L", sw), (257, "L", sh), (258, "H", 16), (259, "H", 1), (262, "H", 32803),
        (273, "L", cfa_at), (277, "H", 1), (278, "L", sh), (279, "L", len(cfa)), (33421, "H", (2, 2)),
        (33422, "B", (0, 1, 1, 2)), (50717, "L", 4095),
    ], sub_at)
    assert len(ifd0) + len(ifd0_values) <= 512 and len(sub) + len(sub_values) <= 512, ifd0_len_guess
    out = bytearray(b"II*\x00" + struct.pack("<I", ifd0_at))
    out += (ifd0 + ifd0_values).ljust(sub_at - ifd0_at, b"\x00")
    out += (sub + sub_values).ljust(data_at - sub_at, b"\x00")
    out += preview + (b"\x00" if len(preview) % 2 else b"")
    out += cfa
    return bytes(out)
