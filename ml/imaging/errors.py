"""The one exception every refusal in ml.imaging raises."""
from __future__ import annotations


class ImageError(ValueError):
    """A file that cannot be used as a photo; `.reason` says why in words a photographer understands."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
