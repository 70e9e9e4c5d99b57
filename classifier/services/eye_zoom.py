"""100% crops of a face's eyes from the original, for the review lightbox.

Eye boxes are fractions of the EXIF-oriented image. Rather than rotating a whole 24-megapixel photo,
the box is mapped into the stored (raw) orientation, cropped there, and only the small crop is turned
upright. Crops are cached under the name sessions_app.media_names gives them (per photo, model version
and face), among the photo's other derived files, so a session delete cleans them up.
"""
from __future__ import annotations

import io
import logging

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, UnidentifiedImageError

from eyespy_site.errors import AppError
from ml.imaging import ORIENTATION_TRANSPOSE
from sessions_app import media_names
from sessions_app.models import Photo

logger = logging.getLogger(__name__)

MAX_SIDE = 2000  # a very large face still yields a sane image
PAD_X, PAD_Y = 0.35, 1.2  # around both eyes, as fractions of their joint width/height

# EXIF orientation -> (fractional point in the upright image -> the same point in the stored image).
_TO_RAW = {
    1: lambda u, v: (u, v),
    2: lambda u, v: (1 - u, v),
    3: lambda u, v: (1 - u, 1 - v),
    4: lambda u, v: (u, 1 - v),
    5: lambda u, v: (v, u),
    6: lambda u, v: (v, 1 - u),
    7: lambda u, v: (1 - v, 1 - u),
    8: lambda u, v: (1 - v, u),
}


class ZoomUnavailable(AppError):
    """No crop can be made (no such face, no readable image). `reason` is readable."""


def eyes_region(face: dict) -> tuple[float, float, float, float]:
    """The area (fractions, upright image) around both eyes of a stored face, padded for context."""
    boxes = [e.get("box") for e in face.get("eyes") or [] if isinstance(e, dict) and isinstance(e.get("box"), dict)]
    try:
        if boxes:
            x0 = min(float(b["x0"]) for b in boxes)
            y0 = min(float(b["y0"]) for b in boxes)
            x1 = max(float(b["x1"]) for b in boxes)
            y1 = max(float(b["y1"]) for b in boxes)
        else:
            box = face["box"]
            # No eyes found: the upper middle of the face is where they would be.
            x0, x1 = float(box["x0"]), float(box["x1"])
            top, bottom = float(box["y0"]), float(box["y1"])
            y0, y1 = top + 0.2 * (bottom - top), top + 0.5 * (bottom - top)
    except (KeyError, TypeError, ValueError):
        raise ZoomUnavailable("this face has no stored position") from None
    w, h = max(x1 - x0, 1e-3), max(y1 - y0, 1e-3)
    x0, x1 = x0 - PAD_X * w, x1 + PAD_X * w
    y0, y1 = y0 - PAD_Y * h, y1 + PAD_Y * h
    return max(0.0, x0), max(0.0, y0), min(1.0, x1), min(1.0, y1)


def crop_upright(image: Image.Image, region: tuple[float, float, float, float]) -> Image.Image:
    """Crop `region` (fractions of the upright image) from `image` as stored, then turn the crop upright."""
    orientation = image.getexif().get(0x0112, 1)
    to_raw = _TO_RAW.get(orientation, _TO_RAW[1])
    x0, y0, x1, y1 = region
    corners = [to_raw(u, v) for u, v in ((x0, y0), (x1, y1))]
    w, h = image.size
    left = int(min(c[0] for c in corners) * w)
    right = int(round(max(c[0] for c in corners) * w))
    top = int(min(c[1] for c in corners) * h)
    bottom = int(round(max(c[1] for c in corners) * h))
    if right - left < 2 or bottom - top < 2:
        raise ZoomUnavailable("the eyes are too small to zoom into")
    crop = image.crop((left, top, right, bottom))
    if orientation in ORIENTATION_TRANSPOSE:
        crop = crop.transpose(ORIENTATION_TRANSPOSE[orientation])
    if crop.mode not in ("RGB", "L"):
        crop = crop.convert("RGB")
    if max(crop.size) > MAX_SIDE:
        crop.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return crop


def _open(name: str) -> Image.Image:
    try:
        import pillow_heif  # HEIC originals from iPhones

        pillow_heif.register_heif_opener()
    except ImportError:  # pragma: no cover - installed with the app
        pass
    with default_storage.open(name, "rb") as fh:
        image = Image.open(fh)
        image.load()  # 100% needs every pixel; the file can be closed afterwards
    return image


def eye_zoom(*, photo: Photo, face: dict, face_index: int, model_version_id: int) -> str:
    """Storage name of a JPEG showing the face's eyes at 100% (made on first use, then cached).

    `face` is the stored face of `model_version_id`'s prediction: the cache is per version because the
    faces are.
    """
    name = media_names.zoom_name(photo_uuid=photo.uuid, model_version_id=model_version_id, face_index=face_index)
    if default_storage.exists(name):
        return name
    region = eyes_region(face)
    image = None
    for source in (photo.original.name, photo.preview.name):
        if not source:
            continue
        try:
            image = _open(source)
            break
        except (OSError, UnidentifiedImageError, Image.DecompressionBombError, ValueError):
            logger.warning("can't open %s of photo %s for a zoom", source, photo.pk, exc_info=True)
    if image is None:
        raise ZoomUnavailable("the photo can't be opened")
    crop = crop_upright(image, region)
    buf = io.BytesIO()
    crop.save(buf, "JPEG", quality=92)
    return default_storage.save(name, ContentFile(buf.getvalue()))

