"""Gallery previews: three sizes per photo for `srcset`, watermarked when the gallery says so.

Made once, in the background (`build_gallery_previews_task` on the `exports` queue), from the worker's
1600 px preview, and stored under the photo's derived folder (`media_names.gallery_preview_name`). The web
process never decodes an image: until a photo's previews exist the page shows a placeholder.

The *key* says which previews a gallery needs: "plain", or "wm<hash of the text>" with a watermark. A
photo in two galleries with the same watermark shares the files; changing the watermark makes a new key,
so old previews are never served for it (and never shown unwatermarked).
"""
from __future__ import annotations

import hashlib
import io
import logging
import math

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

from sessions_app import media_names
from sessions_app.models import Gallery, GalleryPhoto

logger = logging.getLogger(__name__)

SIZES = (480, 960, 1600)  # long side, px; 1600 is also the "web size" download
WEB_SIZE = SIZES[-1]
JPEG_QUALITY = 80
PS = GalleryPhoto.PreviewStatus


def preview_key(watermark_text: str) -> str:
    text = (watermark_text or "").strip()
    if not text:
        return "plain"
    return "wm" + hashlib.sha256(text.encode()).hexdigest()[:10]


def variant(key: str, size: int) -> str:
    return f"w{size}" if key == "plain" else f"w{size}-{key}"


def preview_name(item: GalleryPhoto, *, key: str, size: int) -> str:
    return media_names.gallery_preview_name(photo_uuid=item.photo.uuid, variant=variant(key, size))


def fitted(width: int, height: int, size: int) -> tuple[int, int]:
    """The size of a variant: the long side brought down to `size` (never up)."""
    scale = min(1.0, size / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


# --- Drawing -----------------------------------------------------------------------------------------------


def _source_image(item: GalleryPhoto) -> Image.Image:
    """The worker's oriented preview; the original (reduced decode) only if the preview is missing."""
    photo = item.photo
    if photo.preview and default_storage.exists(photo.preview.name):
        with default_storage.open(photo.preview.name, "rb") as fh:
            image = Image.open(fh)
            image.load()
        return image.convert("RGB")
    with photo.original.open("rb") as fh:
        image = Image.open(fh)
        image.draft("RGB", (WEB_SIZE, WEB_SIZE))  # JPEG: decode at 1/2..1/8 scale, not 24 MP
        image = ImageOps.exif_transpose(image)
        image.load()
    return image.convert("RGB")


def watermark(image: Image.Image, text: str) -> Image.Image:
    """The text tiled diagonally across the whole picture, half transparent: cropping can't remove it."""
    w, h = image.size
    font_px = max(12, round(min(w, h) / 14))
    font = ImageFont.load_default(size=font_px)
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    x0, y0, x1, y1 = probe.textbbox((0, 0), text, font=font)
    tw, th = x1 - x0, y1 - y0
    side = int(math.hypot(w, h)) + 2 * font_px
    layer = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    step_x, step_y = tw + 2 * font_px, th + 3 * font_px
    for row, y in enumerate(range(0, side, step_y)):
        offset = (row % 2) * step_x // 2
        for x in range(-step_x + offset, side, step_x):
            draw.text((x, y), text, font=font, fill=(255, 255, 255, 110), stroke_width=max(1, font_px // 16),
                      stroke_fill=(0, 0, 0, 70))
    layer = layer.rotate(30, resample=Image.Resampling.BICUBIC)
    left, top = (side - w) // 2, (side - h) // 2
    out = image.convert("RGBA")
    out.alpha_composite(layer.crop((left, top, left + w, top + h)))
    return out.convert("RGB")


def render_variants(source: Image.Image, *, watermark_text: str) -> dict[int, bytes]:
    """JPEG bytes per size, largest first (each smaller one resized from the previous)."""
    out: dict[int, bytes] = {}
    current = source
    for size in sorted(SIZES, reverse=True):
        target = fitted(*current.size, size)
        if target != current.size:
            current = current.resize(target, Image.Resampling.LANCZOS, reducing_gap=2.0)
        picture = watermark(current, watermark_text) if watermark_text.strip() else current
        buf = io.BytesIO()
        picture.save(buf, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
        out[size] = buf.getvalue()
    return out


def _store(name: str, data: bytes) -> None:
    # Fixed names: replace, never let the storage pick "preview_a8f3.jpg" beside an old one.
    if default_storage.exists(name):
        default_storage.delete(name)
    default_storage.save(name, ContentFile(data))


# --- The job -------------------------------------------------------------------------------------------------


def gallery_previews_build(*, gallery_id: int) -> int:
    """Make the missing previews of a gallery's photos. Returns how many photos got new previews.

    Idempotent and safe to run twice at once: a photo whose previews already match the gallery's key is
    skipped, files have fixed names, and a photo is marked ready only while the gallery still wants that
    key (a watermark changed meanwhile queues a new run, whose key wins). One bad photo fails alone.
    """
    gallery = Gallery.objects.filter(id=gallery_id).first()
    if gallery is None:
        return 0
    key = preview_key(gallery.watermark_text)
    todo = list(gallery.items.select_related("photo").exclude(preview_key=key, preview_status=PS.READY))
    made = 0
    for item in todo:
        try:
            variants = render_variants(_source_image(item), watermark_text=gallery.watermark_text)
            for size, data in variants.items():
                _store(preview_name(item, key=key, size=size), data)
            width, height = Image.open(io.BytesIO(variants[WEB_SIZE])).size
        except (OSError, UnidentifiedImageError, ValueError) as exc:
            logger.warning("gallery %s: no previews for photo %s: %s", gallery_id, item.photo_id, exc)
            GalleryPhoto.objects.filter(pk=item.pk).update(preview_status=PS.FAILED)
            continue
        still_wanted = Gallery.objects.filter(pk=gallery_id, watermark_text=gallery.watermark_text)
        with transaction.atomic():
            if still_wanted.exists():
                GalleryPhoto.objects.filter(pk=item.pk).update(
                    preview_key=key, preview_status=PS.READY, preview_width=width, preview_height=height)
                made += 1
    return made

