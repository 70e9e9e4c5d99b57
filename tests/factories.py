"""Plain builder functions for the test cast (no factory library needed)."""
from __future__ import annotations

import hashlib
import io
import itertools

from PIL import Image

from classifier.models import ModelVersion
from sessions_app.models import Client, Photo, PhotoSession, User

_seq = itertools.count(1)
PASSWORD = "correct-horse-battery-9"


def make_user(email: str | None = None, **extra) -> User:
    email = email or f"photographer{next(_seq)}@example.com"
    return User.objects.create_user(email=email, password=PASSWORD, **extra)


def make_client(owner: User, name: str | None = None, **extra) -> Client:
    return Client.objects.create(owner=owner, name=name or f"Client {next(_seq)}", **extra)


def make_session(owner: User, client: Client | None = None, title: str | None = None, **extra) -> PhotoSession:
    return PhotoSession.objects.create(
        owner=owner, client=client, title=title or f"Session {next(_seq)}", **extra
    )


def jpeg_bytes(size=(64, 48), color=(180, 120, 90), **save_kwargs) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG", **save_kwargs)
    return buf.getvalue()


def make_photo(session: PhotoSession, *, name: str | None = None, data: bytes | None = None, **extra) -> Photo:
    """A stored photo row with a real small JPEG behind it (no processing)."""
    from django.core.files.base import ContentFile

    n = next(_seq)
    # Big colour steps: neighbouring shades can encode to the very same JPEG bytes (same sha256).
    data = jpeg_bytes(color=((n * 53) % 256, (n * 101) % 256, (n * 197) % 256)) if data is None else data
    photo = Photo(
        session=session,
        original_filename=name or f"IMG_{next(_seq):04d}.JPG",
        extension=".jpg",
        content_type="image/jpeg",
        sha256=hashlib.sha256(data).hexdigest(),
        bytes=len(data),
        **extra,
    )
    photo.original.save("upload", ContentFile(data), save=False)
    photo.save()
    return photo


def make_model_version(name: str = "test-model", *, is_live: bool = True) -> ModelVersion:
    return ModelVersion.objects.create(name=name, is_live=is_live)


# --- Files that must be refused or fail alone (upload checks, worker failures) ----------------------


def noisy_jpeg_bytes(size=(640, 480), seed: int = 0, **save_kwargs) -> bytes:
    """A JPEG with real entropy (random noise), so cutting it short really loses image data."""
    import random

    rng = random.Random(seed)
    image = Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=90, **save_kwargs)
    return buf.getvalue()


def truncated_jpeg_bytes(size=(640, 480)) -> bytes:
    """A valid JPEG header whose pixel data stops half-way (an interrupted copy)."""
    data = noisy_jpeg_bytes(size)
    return data[: len(data) // 2]


def png_bomb_bytes(width: int = 20_000, height: int = 20_000) -> bytes:
    """A few hundred bytes of PNG whose header claims width x height pixels (a decompression bomb)."""
    import struct
    import zlib

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grayscale
    idat = zlib.compress(b"\x00" * (width + 1) * 8, 9)  # the first rows of an all-black image
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def pdf_bytes() -> bytes:
    """A small but real PDF (what a renamed 'IMG_0001.jpg' that is really a contract looks like)."""
    return (
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
        b"trailer << /Root 1 0 R >>\n%%EOF\n"
    )


def shot_at(second: int, seed: int) -> bytes:
    """A small noisy JPEG taken at 2024-05-01 10:00:<second> (EXIF DateTimeOriginal): a photographer's copy
    that folder matching can check by capture time."""
    from PIL import ExifTags

    exif = Image.Exif()
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = f"2024:05:01 10:00:{second:02d}"
    buf = io.BytesIO()
    Image.effect_noise((80, 60), 30 + seed).convert("RGB").save(buf, "JPEG", quality=85, exif=exif)
    return buf.getvalue()
