"""Size limits, and the process-wide Pillow safety settings that go with them (set once, on import)."""
from __future__ import annotations

from PIL import Image, ImageFile

DEFAULT_MAX_PIXELS = 150_000_000

# Truncated data must fail, not load with a grey bottom (Pillow's default; pinned here on purpose).
ImageFile.LOAD_TRUNCATED_IMAGES = False
# Pillow warns above MAX_IMAGE_PIXELS (89 MP by default) and refuses above twice that. We turn the
# warning into an error, so the Pillow limit must not be below our own documented default, or a
# 102 MP medium-format frame would be refused although decode() promises 150 MP.
if Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS < DEFAULT_MAX_PIXELS:
    Image.MAX_IMAGE_PIXELS = DEFAULT_MAX_PIXELS


def _limit_reason(pixels: int, max_pixels: int) -> str:
    return f"image too large: {pixels / 1e6:.0f} MP (limit {max_pixels / 1e6:.0f} MP)"
