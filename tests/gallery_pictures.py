"""Pictures for the gallery browser tests and screenshots: drawn portraits on drawn landscapes in several
aspect ratios, so the justified grid has something to justify (no research-use data in a screenshot)."""
from __future__ import annotations

import io
import random

from django.core.files.base import ContentFile
from PIL import Image, ImageDraw, ImageFilter

from sessions_app import media_names
from sessions_app.models import Photo
from tests.browser.photos import face_pictures

# The two devices the gallery browser tests run on.
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1400, "height": 900}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
              "device_scale_factor": 2},
}
PALETTES = [((250, 214, 165), (214, 110, 90), (64, 48, 70)), ((190, 220, 240), (120, 170, 200), (40, 70, 60)),
            ((255, 236, 210), (240, 160, 120), (90, 80, 110)), ((220, 235, 220), (150, 190, 150), (50, 80, 60)),
            ((235, 225, 245), (180, 150, 200), (70, 60, 90)), ((245, 240, 230), (200, 180, 150), (90, 70, 50))]
SHAPES = [(1500, 1000), (1000, 1500), (1500, 1000), (1200, 1200), (1000, 1500), (1600, 900)]


def drawn(n: int) -> Image.Image:
    """A soft landscape: sky gradient, sun, two hill lines. Different for each n."""
    rng = random.Random(n)
    w, h = SHAPES[n % len(SHAPES)]
    sky, mid, ground = PALETTES[n % len(PALETTES)]
    image = Image.new("RGB", (w, h))
    draw = ImageDraw.Draw(image)
    for y in range(h):
        t = y / h
        draw.line([(0, y), (w, y)], fill=tuple(int(sky[i] * (1 - t) + mid[i] * t) for i in range(3)))
    r = rng.randint(h // 14, h // 8)
    cx, cy = rng.randint(w // 5, 4 * w // 5), rng.randint(h // 6, h // 3)
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(255, 248, 230))
    for k, colour in enumerate((mid, ground)):
        base = int(h * (0.55 + 0.15 * k))
        points = [(0, h)] + [(x, base + int(rng.uniform(-1, 1) * h * 0.06)) for x in range(0, w + 100, 100)] + [(w, h)]
        draw.polygon(points, fill=tuple(max(0, c - 25 * k) for c in colour))
    return image.filter(ImageFilter.GaussianBlur(1.2))


def picture(n: int) -> Image.Image:
    """A drawn portrait: a face with open eyes and shoulders on a landscape of the n-th shape."""
    image = drawn(n)
    w, h = image.size
    side = int(min(w, h) * 0.42)
    face = face_pictures("open", n + 1)[n].resize((side, side), Image.Resampling.LANCZOS)
    x, y = int(w * (0.3 + 0.4 * (n % 3) / 2)) - side // 2, int(h * 0.52) - side // 2
    draw = ImageDraw.Draw(image)
    coat = PALETTES[(n + 2) % len(PALETTES)][2]
    draw.ellipse((x - side * 0.35, y + side * 0.85, x + side * 1.35, y + side * 2.6), fill=coat)
    mask = Image.new("L", (side, side), 0)
    ImageDraw.Draw(mask).ellipse((side * 0.04, 0, side * 0.96, side), fill=255)
    image.paste(face, (x, y), mask.filter(ImageFilter.GaussianBlur(side * 0.02)))
    return image


def jpeg(image: Image.Image, quality: int = 85) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def give_preview(photo: Photo, image: Image.Image) -> None:
    """What the worker would have stored: a preview of at most 1600 px and a 400 px thumbnail."""
    image = image.copy()
    image.thumbnail((1600, 1600))
    photo.preview.save(media_names.preview_name(photo.uuid), ContentFile(jpeg(image)), save=False)
    photo.width, photo.height = image.size
    image.thumbnail((400, 400))
    photo.thumbnail.save(media_names.thumbnail_name(photo.uuid), ContentFile(jpeg(image)), save=False)
    photo.save(update_fields=["preview", "thumbnail", "width", "height"])

