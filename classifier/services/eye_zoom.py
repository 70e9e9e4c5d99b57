"""100% crops of a face's eyes from the original, for the review lightbox — cut by a worker, never in a request.

A 100 % crop needs the original's full pixels, and a 120-megapixel JPEG decodes to ~360 MB: three first
views at once once took a web process from 96 MB to 1.6 GB. So the web side only asks (`eye_zoom_request`:
the cached crop if there is one, else it queues `make_eye_zoom_task` once per crop and says "pending"), and
the worker cuts it (`eye_zoom_make`), where the pool size caps how many decode at once and the child's
memory limit recycles it.

Eye boxes are fractions of the EXIF-oriented image. Rather than rotating a whole 24-megapixel photo,
the box is mapped into the stored (raw) orientation, cropped there, and only the small crop is turned
upright. Crops are cached under the name sessions_app.media_names gives them (per photo, model version
and face), among the photo's other derived files, so a session delete cleans them up.
"""
from __future__ import annotations

import io
import logging
import threading
from dataclasses import dataclass

from django.core.cache import cache
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


MIN_HEIGHT_RATIO = 0.42  # the crop is at least this tall for its width (in pixels): never a thin bar
EYES_BELOW = 0.55  # eyes whose centre sits lower than this in the face box are not where eyes are


def _face_box(face: dict) -> tuple[float, float, float, float] | None:
    try:
        box = face["box"]
        return float(box["x0"]), float(box["y0"]), float(box["x1"]), float(box["y1"])
    except (KeyError, TypeError, ValueError):
        return None


def _eye_boxes(face: dict) -> tuple[float, float, float, float] | None:
    boxes = [e.get("box") for e in face.get("eyes") or [] if isinstance(e, dict) and isinstance(e.get("box"), dict)]
    try:
        if boxes:
            return (min(float(b["x0"]) for b in boxes), min(float(b["y0"]) for b in boxes),
                    max(float(b["x1"]) for b in boxes), max(float(b["y1"]) for b in boxes))
    except (KeyError, TypeError, ValueError):
        pass
    return None


def _trusted_eye_boxes(face: dict) -> tuple[float, float, float, float] | None:
    """Both eyes' joint box, unless it sits in the lower part of the face box (landmarks thrown off by a soft face)."""
    face_box, eyes = _face_box(face), _eye_boxes(face)
    if eyes is not None and face_box is not None:
        top, bottom = face_box[1], face_box[3]
        if bottom > top and ((eyes[1] + eyes[3]) / 2 - top) / (bottom - top) > EYES_BELOW:
            return None
    return eyes


def _guess_from_face(box, aspect: float) -> tuple[float, float, float, float]:
    """Where the eyes are from the face box alone. A box much wider than tall (in pixels) is a tight box
    on the lower face of a soft, low-quality face: the eyes are at or above its top edge, not inside it."""
    x0, y0, x1, y1 = box
    h = y1 - y0
    pixel_ratio = h / max(x1 - x0, 1e-6) / aspect  # height / width in pixels
    if pixel_ratio < 0.9:
        return x0, y0 - 0.55 * h, x1, y0 + 0.25 * h
    return x0, y0 + 0.2 * h, x1, y0 + 0.5 * h


def eyes_region(face: dict, *, aspect: float = 1.5) -> tuple[float, float, float, float]:
    """The area (fractions, upright image) around both eyes of a stored face, padded for context.

    `aspect` is the photo's width / height, so "tall enough" is judged in pixels. Eye boxes that sit in
    the lower part of the face box (landmarks thrown off by a soft face) are not trusted: the face box
    decides instead, so the close-up shows eyes, not a nose and mouth.
    """
    face_box = _face_box(face)
    eyes = _trusted_eye_boxes(face)
    pad_x, pad_y = PAD_X, PAD_Y
    if eyes is None:
        if face_box is None:
            raise ZoomUnavailable("this face has no stored position")
        eyes = _guess_from_face(face_box, aspect)
        pad_x, pad_y = 0.05, 0.1  # a guess from the face box is a band already, not two thin eye boxes
    x0, y0, x1, y1 = eyes
    w, h = max(x1 - x0, 1e-3), max(y1 - y0, 1e-3)
    x0, x1 = x0 - pad_x * w, x1 + pad_x * w
    y0, y1 = y0 - pad_y * h, y1 + pad_y * h
    # Tall enough to read (a group photo's small faces gave 8:1 strips): grow the height around the centre.
    want = MIN_HEIGHT_RATIO * (x1 - x0) * aspect
    if y1 - y0 < want:
        centre = (y0 + y1) / 2
        y0, y1 = centre - want / 2, centre + want / 2
    return max(0.0, x0), max(0.0, y0), min(1.0, x1), min(1.0, y1)


def eye_points(face: dict, *, aspect: float = 1.5) -> list[tuple[float, float]]:
    """Each eye's centre as fractions of the crop `eyes_region` cuts (0-1 across and down), so the 100 % view
    can scroll to the eyes themselves: the crop's middle is not where they are when the padding was cut off
    at the frame's edge, and at 100 % the gap between two eyes can be wider than the box (the middle is
    then a nose bridge and cheeks). [] when the eye boxes aren't trusted (the crop is a guess from the face)."""
    x0, y0, x1, y1 = eyes_region(face, aspect=aspect)
    if _trusted_eye_boxes(face) is None or x1 <= x0 or y1 <= y0:
        return []
    points = []
    for eye in face.get("eyes") or []:
        box = eye.get("box") if isinstance(eye, dict) else None
        if isinstance(box, dict):
            u = ((float(box["x0"]) + float(box["x1"])) / 2 - x0) / (x1 - x0)
            v = ((float(box["y0"]) + float(box["y1"])) / 2 - y0) / (y1 - y0)
            points.append((min(1.0, max(0.0, u)), min(1.0, max(0.0, v))))
    return points


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


def _open(name: str, *, raw: bool = False) -> Image.Image:
    if raw:
        # A camera RAW: its full-size embedded preview (or half-size decode), already upright.
        from django.conf import settings

        from ml.imaging import ImageError, raw_full_image

        with default_storage.open(name, "rb") as fh:
            data = fh.read()
        try:
            return raw_full_image(data, max_pixels=settings.EYESPY_MAX_PIXELS)
        except ImageError as exc:
            raise ValueError(exc.reason) from None
    try:
        import pillow_heif  # HEIC originals from iPhones

        pillow_heif.register_heif_opener()
    except ImportError:  # pragma: no cover - installed with the app
        pass
    with default_storage.open(name, "rb") as fh:
        image = Image.open(fh)
        image.load()  # 100% needs every pixel; the file can be closed afterwards
    return image


@dataclass(frozen=True)
class ZoomState:
    name: str  # the stored crop, when ready
    pending: bool  # queued for a worker; ask again shortly


# How long a queued request keeps later requests for the same crop from queueing another task.
_PENDING_SECONDS = 120


def _zoom_name(photo: Photo, face_index: int, model_version_id: int) -> str:
    return media_names.zoom_name(photo_uuid=photo.uuid, model_version_id=model_version_id, face_index=face_index)


def eye_zoom_request(*, photo: Photo, face: dict, face_index: int, model_version_id: int) -> ZoomState:
    """The face's 100 % eye crop if it is made; else queue it for a worker (once) and say it is pending.

    `face` is the stored face of `model_version_id`'s prediction: the crop is per version because the
    faces are. Raises ZoomUnavailable when there is nothing to zoom into.
    """
    name = _zoom_name(photo, face_index, model_version_id)
    if default_storage.exists(name):
        return ZoomState(name=name, pending=False)
    eyes_region(face)  # refuse a face without a position now, not in the worker
    key = f"eyespy:zoom-pending:{name}"
    if cache.add(key, 1, _PENDING_SECONDS):
        _in_background(lambda: _queue(photo.pk, model_version_id, face_index, key))
    return ZoomState(name="", pending=True)


def _in_background(send) -> None:
    # Publishing waits on the broker (seconds when it is down); the photographer's request must not.
    threading.Thread(target=send, name="eyespy-zoom-send", daemon=True).start()


def _queue(photo_id: int, model_version_id: int, face_index: int, key: str) -> None:
    from kombu.exceptions import OperationalError as BrokerError

    from classifier.tasks import make_eye_zoom_task  # tasks import services; import late

    try:
        make_eye_zoom_task.apply_async((photo_id, model_version_id, face_index), retry=False)
    except (BrokerError, OSError, RuntimeError):
        # Broker down (or its connection pool closed while the process shuts down): the page keeps saying
        # "preparing" and the next ask queues it again.
        cache.delete(key)
        logger.warning("could not queue the zoom of photo %s face %s", photo_id, face_index, exc_info=True)


def eye_zoom_make(*, photo_id: int, model_version_id: int, face_index: int) -> str:
    """The worker's job: cut and store one face's 100 % eye crop (idempotent: an existing one is kept).

    Reads the face from that model version's prediction. Returns the storage name; raises ZoomUnavailable
    when the photo, prediction or face is gone or the image can't be opened.
    """
    from classifier.models import Prediction

    prediction = (Prediction.objects.filter(photo_id=photo_id, model_version_id=model_version_id)
                  .select_related("photo").first())
    if prediction is None:
        raise ZoomUnavailable("the photo or its analysis is gone")
    faces = [f for f in (prediction.details or {}).get("faces") or [] if isinstance(f, dict)]
    if not 0 <= face_index < len(faces):
        raise ZoomUnavailable("no such face")
    return _make(prediction.photo, faces[face_index], face_index, model_version_id)


def _make(photo: Photo, face: dict, face_index: int, model_version_id: int) -> str:
    name = _zoom_name(photo, face_index, model_version_id)
    if default_storage.exists(name):
        return name
    aspect = (photo.width / photo.height) if photo.width and photo.height else 1.5
    region = eyes_region(face, aspect=aspect)
    image = None
    # A pair's JPEG first (the camera's full-size rendering), then the original (a RAW through its preview),
    # then the worker's 1600 px preview.
    sources = [(photo.companion.name, False)] if photo.companion and photo.is_raw else []
    sources += [(photo.original.name, photo.is_raw), (photo.preview.name, False)]
    for source, raw in sources:
        if not source:
            continue
        try:
            image = _open(source, raw=raw)
            break
        except (OSError, UnidentifiedImageError, Image.DecompressionBombError, ValueError):
            logger.warning("can't open %s of photo %s for a zoom", source, photo.pk, exc_info=True)
    if image is None:
        raise ZoomUnavailable("the photo can't be opened")
    crop = crop_upright(image, region)
    del image
    buf = io.BytesIO()
    crop.save(buf, "JPEG", quality=92)
    return default_storage.save(name, ContentFile(buf.getvalue()))
