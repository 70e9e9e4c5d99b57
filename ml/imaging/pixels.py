"""Pixel helpers for decode(): the grey-tail truncation check, any mode -> RGB, and the cheap shrink."""
from __future__ import annotations

import numpy as np
from PIL import Image


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
