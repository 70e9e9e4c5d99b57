"""The detail image: the same photo at a higher resolution than the working image, for checks that judge
fine detail (focus on an eye, motion blur on a face).

A 24 MP JPEG decoded at 1/2 scale costs ~10 ms more than at 1/4 (the entropy decoding is paid either way,
shared/notes/decode-speed.md), and the working image is then a cheap integer reduce of it. The detail
image is kept as decoded, NOT rotated to the EXIF orientation (transposing 6 MP costs more than every crop a
check takes): `crop` maps a box of the oriented photo onto it and turns only the crop upright.
"""
from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

_T = Image.Transpose


def _oriented_from_raw(method: _T | None, x: float, y: float) -> tuple[float, float]:
    """A point of the stored (raw) image, in fractions, where it lands after `method`."""
    if method is None:
        return x, y
    return {
        _T.FLIP_LEFT_RIGHT: (1 - x, y),
        _T.FLIP_TOP_BOTTOM: (x, 1 - y),
        _T.ROTATE_180: (1 - x, 1 - y),
        _T.ROTATE_90: (y, 1 - x),  # counter-clockwise
        _T.ROTATE_270: (1 - y, x),
        _T.TRANSPOSE: (y, x),
        _T.TRANSVERSE: (1 - y, 1 - x),
    }[method]


_INVERSE = {_T.ROTATE_90: _T.ROTATE_270, _T.ROTATE_270: _T.ROTATE_90}


@dataclass(frozen=True)
class DetailImage:
    image: Image.Image  # RGB as decoded (before the EXIF orientation)
    transpose: Image.Transpose | None  # what turns it upright (None: it is upright)
    scale: float  # detail px per original px (0.5 for a 1/2 decode)

    @property
    def oriented_size(self) -> tuple[int, int]:
        w, h = self.image.size
        return (h, w) if self.transpose in (_T.ROTATE_90, _T.ROTATE_270, _T.TRANSPOSE, _T.TRANSVERSE) else (w, h)

    def crop(self, x0: float, y0: float, x1: float, y1: float) -> Image.Image:
        """The box (fractions of the upright photo) as an upright RGB image at the detail resolution."""
        inverse = _INVERSE.get(self.transpose, self.transpose)  # every other method is its own inverse
        corners = [_oriented_from_raw(inverse, x, y) for x, y in ((x0, y0), (x1, y1))]
        w, h = self.image.size
        rx0, rx1 = sorted(c[0] for c in corners)
        ry0, ry1 = sorted(c[1] for c in corners)
        box = (max(0, round(rx0 * w)), max(0, round(ry0 * h)), min(w, round(rx1 * w)), min(h, round(ry1 * h)))
        region = self.image.crop(box)
        return region.transpose(self.transpose) if self.transpose is not None else region
