"""Photos that look like a shoot for browser tests and the docs/ screenshots: drawn faces (eyes open or shut)
pasted into a frame, with the original, preview, thumbnail and eye crops stored and a prediction whose boxes
sit on those faces. No ML run, and no research-use data (../shared/data) that could end up in a screenshot."""
from __future__ import annotations

import io
import random

from django.core.files.base import ContentFile
from PIL import Image, ImageDraw, ImageFilter

from sessions_app import media_names
from tests.review_builders import add_prediction, make_unique_photo

SIZE = (2400, 1600)
# Where the eyes sit in a face picture (image left = the subject's right eye), fractions of its side.
EYE_BOXES = {"right": (0.18, 0.30, 0.46, 0.50), "left": (0.54, 0.30, 0.82, 0.50)}
SKINS = [(241, 200, 170), (224, 172, 135), (198, 140, 100), (160, 105, 70), (112, 72, 48), (250, 215, 190)]
HAIRS = [(40, 28, 20), (90, 60, 30), (200, 160, 90), (20, 20, 20), (120, 50, 30), (160, 160, 160)]
IRISES = [(70, 110, 160), (90, 60, 30), (60, 110, 70), (50, 40, 30)]
FACE_PX = 600  # drawn at this size, then scaled to the face's place in the frame


def face_pictures(kind: str, count: int = 12) -> list[Image.Image]:
    """`count` different drawn faces with both eyes "open" or "closed"."""
    return [_drawn_face(n, closed=kind == "closed") for n in range(count)]


def _drawn_face(n: int, *, closed: bool) -> Image.Image:
    rng = random.Random(n * 7 + closed)
    s = FACE_PX * 2  # drawn at twice the size and scaled down: smooth edges
    skin, hair, iris = SKINS[n % len(SKINS)], HAIRS[(n * 5) % len(HAIRS)], IRISES[n % len(IRISES)]
    image = Image.new("RGB", (s, s), tuple(max(0, c - 30) for c in skin))
    d = ImageDraw.Draw(image)
    d.ellipse((-0.1 * s, -0.12 * s, 1.1 * s, 0.55 * s), fill=hair)  # hair behind
    d.ellipse((0.08 * s, 0.04 * s, 0.92 * s, 1.08 * s), fill=skin)  # face
    d.chord((0.06 * s, -0.08 * s, 0.94 * s, 0.42 * s), 180, 360, fill=hair)  # fringe
    shade = tuple(max(0, c - 45) for c in skin)
    d.line([(0.5 * s, 0.5 * s), (0.46 * s, 0.66 * s), (0.52 * s, 0.67 * s)], fill=shade, width=int(0.012 * s))  # nose
    smile = rng.uniform(0.02, 0.06) * s
    d.arc((0.36 * s, 0.70 * s - smile, 0.64 * s, 0.80 * s + smile), 20, 160, fill=(170, 70, 70), width=int(0.018 * s))
    for x0, y0, x1, y1 in EYE_BOXES.values():
        box = (x0 * s, (y0 + 0.04) * s, x1 * s, (y1 - 0.04) * s)
        cx, cy, w = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2, box[2] - box[0]
        d.arc((box[0], box[1] - 0.25 * w, box[2], box[3] - 0.05 * w), 200, 340, fill=hair, width=int(0.02 * s))  # brow
        if closed:
            d.chord((box[0], cy - 0.28 * w, box[2], cy + 0.12 * w), 0, 180, fill=shade)  # the lid
            d.arc((box[0], cy - 0.28 * w, box[2], cy + 0.12 * w), 0, 180, fill=(40, 25, 20), width=int(0.012 * s))
        else:
            d.ellipse((box[0], cy - 0.2 * w, box[2], cy + 0.2 * w), fill=(250, 250, 248), outline=(60, 40, 30),
                      width=int(0.008 * s))
            r = 0.18 * w
            d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=iris)
            d.ellipse((cx - r * 0.45, cy - r * 0.45, cx + r * 0.45, cy + r * 0.45), fill=(15, 15, 15))
            d.ellipse((cx + r * 0.2, cy - r * 0.55, cx + r * 0.5, cy - r * 0.25), fill=(255, 255, 255))
    return image.resize((FACE_PX, FACE_PX), Image.Resampling.LANCZOS)


def _jpeg(image: Image.Image, quality: int = 88) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def _background(rng: random.Random, size) -> Image.Image:
    top = tuple(rng.randint(90, 200) for _ in range(3))
    bottom = tuple(max(0, c - rng.randint(40, 80)) for c in top)
    bg = Image.new("RGB", (1, 2))
    bg.putpixel((0, 0), top)
    bg.putpixel((0, 1), bottom)
    return bg.resize(size, Image.Resampling.BILINEAR)


def make_shoot_photo(session, *, name: str, faces: list[tuple[Image.Image, float, float]], seed: int = 0,
                     width_frac=0.24, size: tuple[int, int] = SIZE, make_zooms: bool = True):
    """A done photo with `faces` = [(face picture, P(closed) left, P(closed) right), ...] side by side."""
    rng = random.Random(seed)
    frame = _background(rng, size)
    draw = ImageDraw.Draw(frame)
    stored_faces = []
    n = len(faces)
    fw = int(size[0] * (width_frac if n == 1 else min(width_frac, 0.8 / n)))
    for i, (picture, p_left, p_right) in enumerate(faces):
        crop = picture.resize((fw, fw), Image.Resampling.LANCZOS)
        x = int(size[0] * (0.5 if n == 1 else 0.1 + 0.8 * (i + 0.5) / n) - fw / 2)
        y = int(size[1] * 0.38 - fw / 2 + rng.randint(-20, 20))
        draw.ellipse((x - fw * 0.15, y + fw * 0.75, x + fw * 1.15, y + fw * 2.2), fill=tuple(rng.randint(20, 120) for _ in range(3)))
        mask = Image.new("L", (fw, fw), 0)
        ImageDraw.Draw(mask).ellipse((fw * 0.04, 0, fw * 0.96, fw), fill=255)
        frame.paste(crop, (x, y), mask.filter(ImageFilter.GaussianBlur(fw * 0.03)))
        eyes = []
        for side, p in (("right", p_right), ("left", p_left)):
            ex0, ey0, ex1, ey1 = EYE_BOXES[side]
            box = (x + ex0 * fw, y + ey0 * fw, x + ex1 * fw, y + ey1 * fw)
            state = "closed" if p >= 0.5 else ("partly_closed" if p >= 0.3 else "open")
            eyes.append({"side": side, "state": state, "p_closed": p, "openness": round(1 - p, 3),
                         "box": {"x0": box[0] / size[0], "y0": box[1] / size[1], "x1": box[2] / size[0], "y1": box[3] / size[1]},
                         "_px": box})
        stored_faces.append({"box": {"x0": x / size[0], "y0": y / size[1], "x1": (x + fw) / size[0], "y1": (y + fw) / size[1]},
                             "score": 0.93, "size_px": fw, "is_subject": True, "eyes": eyes})
    photo = make_unique_photo(session, name=name, data=_jpeg(frame, 92), status="done", width=size[0], height=size[1])
    storage = photo.original.storage
    preview = frame.copy()
    preview.thumbnail((1600, 1600))
    thumb = frame.copy()
    thumb.thumbnail((480, 480))
    photo.preview.name = storage.save(media_names.preview_name(photo.uuid), ContentFile(_jpeg(preview)))
    photo.thumbnail.name = storage.save(media_names.thumbnail_name(photo.uuid), ContentFile(_jpeg(thumb)))
    photo.save(update_fields=["preview", "thumbnail"])
    for fi, f in enumerate(stored_faces):
        for eye in f["eyes"]:
            px = eye.pop("_px")
            crop = frame.crop(tuple(int(v) for v in px)).convert("L").resize((96, 64))
            name = media_names.eye_crop_new_name(photo_uuid=photo.uuid, model_version_id=0, face_index=fi, side=eye["side"])
            eye[media_names.EYE_CROP_KEY] = storage.save(name, ContentFile(_png(crop)))
    prediction = add_prediction(photo, faces=stored_faces)
    if make_zooms:  # what the worker does on first view (the zoom queue): tests have no worker
        from classifier.services import eye_zoom_make

        for fi in range(len(stored_faces)):
            eye_zoom_make(photo_id=photo.id, model_version_id=prediction.model_version_id, face_index=fi)
    return photo
