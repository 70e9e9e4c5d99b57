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

    data = data or jpeg_bytes(color=(next(_seq) % 255, 100, 100))
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
