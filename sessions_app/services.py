"""Writes for photographers, clients, sessions and photos.

Views, the admin and management commands call these; nothing else writes these models.
Bad input raises `django.core.exceptions.ValidationError` (forms) or `UploadRejected` (files),
each with a reason a photographer can read.
"""
from __future__ import annotations

import hashlib
import logging
import os
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from .models import Client, Photo, PhotoSession, User

logger = logging.getLogger(__name__)

HASH_CHUNK = 1024 * 1024


# --- Accounts ---------------------------------------------------------------------------------------


def user_signup(*, email: str, password: str, name: str = "", studio_name: str = "") -> User:
    email = User.objects.normalize_email(email).strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": "An account with this email already exists."})
    return User.objects.create_user(email=email, password=password, name=name.strip(), studio_name=studio_name.strip())


# --- Clients ----------------------------------------------------------------------------------------


def _check_client_name(*, owner: User, name: str, exclude_id: int | None = None) -> str:
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Give the client a name."})
    clash = Client.objects.filter(owner=owner, name__iexact=name)
    if exclude_id is not None:
        clash = clash.exclude(id=exclude_id)
    if clash.exists():
        raise ValidationError({"name": f"You already have a client called “{name}”."})
    return name


def client_create(*, owner: User, name: str, email: str = "", notes: str = "") -> Client:
    name = _check_client_name(owner=owner, name=name)
    return Client.objects.create(owner=owner, name=name, email=email.strip(), notes=notes.strip())


def client_get_or_create(*, owner: User, name: str) -> tuple[Client, bool]:
    """The owner's client with this name (case-insensitive), created if new."""
    name = name.strip()
    existing = Client.objects.filter(owner=owner, name__iexact=name).first()
    if existing is not None:
        return existing, False
    return client_create(owner=owner, name=name), True


def client_update(*, client: Client, name: str, email: str = "", notes: str = "") -> Client:
    client.name = _check_client_name(owner=client.owner, name=name, exclude_id=client.id)
    client.email = email.strip()
    client.notes = notes.strip()
    client.save(update_fields=["name", "email", "notes", "updated_at"])
    return client


def client_delete(*, client: Client) -> None:
    # Sessions stay (their client becomes empty): photos are the photographer's work, not the client's.
    client.delete()


# --- Sessions ---------------------------------------------------------------------------------------


def _resolve_client(*, owner: User, client: Client | None, new_client_name: str) -> Client | None:
    if client is not None and new_client_name.strip():
        raise ValidationError("Pick an existing client or type a new name, not both.")
    if client is not None and client.owner_id != owner.id:
        # Forms only offer the owner's clients; this guards every other caller.
        raise ValidationError({"client": "Unknown client."})
    if new_client_name.strip():
        client, _ = client_get_or_create(owner=owner, name=new_client_name)
    return client


def _check_title(title: str) -> str:
    title = title.strip()
    if not title:
        raise ValidationError({"title": "Give the session a title."})
    return title


@transaction.atomic
def session_create(
    *,
    owner: User,
    title: str,
    client: Client | None = None,
    new_client_name: str = "",
    shot_on: date | None = None,
) -> PhotoSession:
    title = _check_title(title)
    client = _resolve_client(owner=owner, client=client, new_client_name=new_client_name)
    return PhotoSession.objects.create(owner=owner, client=client, title=title, shot_on=shot_on)


@transaction.atomic
def session_update(
    *,
    session: PhotoSession,
    title: str,
    client: Client | None = None,
    new_client_name: str = "",
    shot_on: date | None = None,
) -> PhotoSession:
    title = _check_title(title)
    session.client = _resolve_client(owner=session.owner, client=client, new_client_name=new_client_name)
    session.title = title
    session.shot_on = shot_on
    session.save(update_fields=["client", "title", "shot_on", "updated_at"])
    return session


def _session_file_names(session: PhotoSession) -> list[str]:
    """Every storage name that belongs to the session: originals, derived files, eye crops, exports."""
    names: set[str] = set()
    derived_dirs: set[str] = set()
    for original, thumbnail, preview in session.photos.values_list("original", "thumbnail", "preview"):
        for name in (original, thumbnail, preview):
            if name:
                names.add(name)
        for name in (thumbnail, preview):
            if name and name.startswith("derived/"):
                derived_dirs.add(os.path.dirname(name))
    # Eye crops are named in the predictions' details (classifier.services.photo_process).
    from classifier.models import Prediction

    for details in Prediction.objects.filter(photo__session=session).values_list("details", flat=True):
        for face in (details or {}).get("faces", []) or []:
            for eye in face.get("eyes", []) or []:
                crop = eye.get("crop_path") if isinstance(eye, dict) else None
                if crop:
                    names.add(crop)
    for derived_dir in derived_dirs:
        # Catch derived files the database doesn't name (an older crop, a half-finished run).
        try:
            _, files = default_storage.listdir(derived_dir)
        except (FileNotFoundError, NotImplementedError, OSError):
            continue
        names.update(f"{derived_dir}/{f}" for f in files)
    names.update(n for n in session.exports.values_list("file", flat=True) if n)
    return sorted(names)


def _storage_delete(names: Iterable[str], *, prune_dirs: bool = False) -> int:
    """Delete files, logging (not raising) on failure: a missing file must not block a delete.

    `prune_dirs` also removes folders left empty; only for whole sessions, never while uploads may
    still be writing into the same folder.
    """
    deleted = 0
    dirs: set[str] = set()
    for name in names:
        try:
            default_storage.delete(name)
            deleted += 1
        except OSError:
            logger.warning("could not delete stored file %s", name, exc_info=True)
        dirs.add(os.path.dirname(name))
    if prune_dirs:
        _remove_empty_local_dirs(dirs)
    return deleted


def _remove_empty_local_dirs(dirs: Iterable[str]) -> None:
    # Only a local folder storage leaves empty folders behind; S3 has no folders.
    # Parents too (exports/<session>/<export>/ -> exports/<session>/), but never the top folders.
    expanded = set()
    for name in dirs:
        while name.count("/") >= 1:
            expanded.add(name)
            name = os.path.dirname(name)
    for name in sorted(expanded, key=lambda n: (n.count("/"), len(n)), reverse=True):
        if not name:
            continue
        try:
            path = Path(default_storage.path(name))
        except NotImplementedError:
            return
        try:
            path.rmdir()
        except OSError:
            pass  # not empty or already gone


def session_delete(*, session: PhotoSession) -> None:
    """Delete the session, its photos, predictions, exports and every stored file."""
    names = _session_file_names(session)
    with transaction.atomic():
        session.delete()
        # Files go only once the rows are gone for sure; a rolled-back delete keeps its files.
        transaction.on_commit(lambda: _storage_delete(names, prune_dirs=True))
    logger.info("deleted session with %d stored files", len(names))


# --- Photos -----------------------------------------------------------------------------------------


class UploadRejected(Exception):
    """A file that can't become a photo. `reason` is shown to the photographer as is."""

    def __init__(self, reason: str, *, code: str = "invalid") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code  # "empty", "too_large", "unreadable", "invalid"


@dataclass(frozen=True)
class UploadResult:
    photo: Photo
    duplicate: bool  # True: the same bytes were already in the session; nothing new was stored


def _format_mb(n: int) -> str:
    mb = n / (1024 * 1024)
    return f"{mb:.0f} MB" if mb >= 10 else f"{mb:.1f} MB"


def clean_filename(name: str) -> str:
    """The client's file name as data: base name only, no control characters, at most 255 chars."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch)[0] != "C")
    name = name.strip() or "unnamed"
    if len(name) > 255:
        stem, ext = os.path.splitext(name)
        name = stem[: 255 - len(ext[:16])] + ext[:16]
    return name


def _file_size(fileobj: BinaryIO) -> int:
    size = getattr(fileobj, "size", None)
    if isinstance(size, int):
        return size
    fileobj.seek(0, os.SEEK_END)
    size = fileobj.tell()
    fileobj.seek(0)
    return size


def _sha256(fileobj: BinaryIO) -> str:
    digest = hashlib.sha256()
    fileobj.seek(0)
    while chunk := fileobj.read(HASH_CHUNK):
        digest.update(chunk)
    fileobj.seek(0)
    return digest.hexdigest()


def _existing_duplicate(*, session: PhotoSession, sha256: str) -> Photo | None:
    return Photo.objects.filter(session=session, sha256=sha256).first()


def photo_upload(*, session: PhotoSession, fileobj: BinaryIO, filename: str, enqueue: bool = True) -> UploadResult:
    """Validate one uploaded file, store it under a generated name and queue it for processing.

    Checks are cheap on purpose (size, header sniffing): the web process never decodes a whole image.
    A file whose pixels turn out broken fails later, in the worker, with its own reason.
    Raises UploadRejected with a readable reason.
    """
    from classifier import services as classifier_services  # classifier depends on us; import late

    size = _file_size(fileobj)
    if size == 0:
        raise UploadRejected("empty file (0 bytes)", code="empty")
    limit = settings.EYESPY_MAX_UPLOAD_BYTES
    if size > limit:
        raise UploadRejected(f"file too large ({_format_mb(size)}; limit {_format_mb(limit)})", code="too_large")

    fileobj.seek(0)
    try:
        info = classifier_services.inspect_upload(fileobj)
    except classifier_services.UnreadableImage as exc:
        raise UploadRejected(getattr(exc, "reason", None) or str(exc), code="unreadable") from None
    sha256 = _sha256(fileobj)

    existing = _existing_duplicate(session=session, sha256=sha256)
    if existing is not None:
        return UploadResult(photo=existing, duplicate=True)

    photo = Photo(
        session=session,
        original_filename=clean_filename(filename),
        extension=info.extension,
        content_type=info.content_type,
        sha256=sha256,
        bytes=size,
        # width/height stay empty until the worker has the EXIF-oriented size.
    )
    # Slow storage I/O (S3 put) happens before, not inside, the database transaction.
    fileobj.seek(0)
    photo.original.save("original", File(fileobj), save=False)
    try:
        with transaction.atomic():
            photo.save()
            if enqueue:
                photo_id = photo.id
                transaction.on_commit(lambda: classifier_services.photos_enqueue(photo_ids=[photo_id]), robust=True)
    except IntegrityError:
        # Two requests with the same bytes raced past the duplicate check; the database kept one.
        _storage_delete([photo.original.name])
        existing = _existing_duplicate(session=session, sha256=sha256)
        if existing is None:
            raise
        return UploadResult(photo=existing, duplicate=True)
    except BaseException:
        _storage_delete([photo.original.name])
        raise
    return UploadResult(photo=photo, duplicate=False)


def photos_requeue_failed(*, session: PhotoSession) -> int:
    """Re-run the session's failed photos (the "Re-run failed" button). Returns how many were queued."""
    from classifier import services as classifier_services

    return classifier_services.photos_requeue(photos_qs=session.photos.filter(status=Photo.Status.FAILED))


# --- Importing files already on disk ----------------------------------------------------------------


@dataclass(frozen=True)
class ImportOutcome:
    path: Path
    status: str  # "imported", "duplicate", "rejected"
    photo: Photo | None = None
    reason: str = ""


def iter_import_files(paths: Iterable[str | os.PathLike]) -> Iterator[Path]:
    """Files under `paths` (folders recursively), in a stable order, skipping hidden files and folders."""
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            yield path
            continue
        for folder, subdirs, files in os.walk(path):
            subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
            for name in sorted(files):
                if not name.startswith("."):
                    yield Path(folder) / name


def photos_import_paths(
    *, session: PhotoSession, paths: Iterable[str | os.PathLike], enqueue: bool = True
) -> Iterator[ImportOutcome]:
    """Import files from disk through `photo_upload`, yielding one outcome per file as it goes."""
    for path in iter_import_files(paths):
        try:
            with path.open("rb") as fh:
                result = photo_upload(session=session, fileobj=File(fh, name=path.name), filename=path.name, enqueue=enqueue)
        except UploadRejected as exc:
            yield ImportOutcome(path=path, status="rejected", reason=exc.reason)
        except OSError as exc:
            yield ImportOutcome(path=path, status="rejected", reason=f"can't read file ({exc.strerror or exc})")
        else:
            yield ImportOutcome(path=path, status="duplicate" if result.duplicate else "imported", photo=result.photo)
