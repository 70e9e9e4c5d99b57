"""Photos: the upload checks and storing an original. Queueing it is the caller's (classifier.services.photo_upload)."""
from __future__ import annotations

import hashlib
import logging
import os
import unicodedata
from dataclasses import dataclass
from collections.abc import Callable
from typing import BinaryIO

from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import Q

from eyespy_site.errors import AppError

from ..models import Photo, PhotoSession, RejectedUpload
from .inspection import ImageInfo, UnreadableImage, inspect_upload
from .photo_state import photo_state_requeue_paired
from .storage import storage_delete

logger = logging.getLogger(__name__)

HASH_CHUNK = 1024 * 1024


class UploadRejected(AppError):
    """A file that can't become a photo. `reason` is shown to the photographer as is."""

    def __init__(self, reason: str, *, code: str = "invalid") -> None:
        super().__init__(reason)
        self.code = code  # "empty", "too_large", "unreadable", "invalid"


@dataclass(frozen=True)
class UploadResult:
    photo: Photo
    duplicate: bool  # True: the same bytes were already in the session; nothing new was stored
    # True: the file joined its RAW or JPEG twin (same base name) as the second original of `photo`.
    paired: bool = False
    # True: `photo` was already analysed (or failed) and is queued again to be analysed with both files.
    requeued: bool = False


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



def photo_duplicate(*, session: PhotoSession, sha256: str) -> Photo | None:
    """The session's photo that already holds these bytes (as its original or its RAW/JPEG twin), if any."""
    return Photo.objects.filter(Q(sha256=sha256) | Q(companion_sha256=sha256), session=session).first()


def pair_stem(filename: str) -> str:
    """The base name that pairs a RAW with its JPEG: IMG_0001.CR3 and img_0001.JPG both give "img_0001"."""
    return os.path.splitext(clean_filename(filename))[0].casefold()[:255]


def photo_store(*, session: PhotoSession, fileobj: BinaryIO, filename: str) -> UploadResult:
    """Validate one uploaded file and store it under a generated name, as a `queued` photo. Nothing is sent to
    a worker here: classifier.services.photo_upload (the upload view, import_session) queues it after the commit.

    Checks are cheap on purpose (size, header sniffing): the web process never decodes a whole image.
    A file whose pixels turn out broken fails later, in the worker, with its own reason.
    Raises UploadRejected with a readable reason, after recording it on the session (RejectedUpload) so
    the session page still lists it after a reload.
    """
    try:
        return _photo_store(session=session, fileobj=fileobj, filename=filename)
    except UploadRejected as exc:
        rejected_upload_record(session=session, filename=filename, reason=exc.reason, size=_file_size(fileobj))
        raise


def rejected_upload_record(*, session: PhotoSession, filename: str, reason: str, size: int = 0) -> None:
    """Keep a refused upload on the session, so the session page still says why after a reload."""
    RejectedUpload.objects.create(session=session, filename=clean_filename(filename)[:255], reason=reason[:500],
                                  bytes=max(0, size))


def photos_mark_seen(*, session: PhotoSession, photo_uuids) -> int:
    """Remember that the photographer looked at these photos of `session` (loupe, lightbox).

    Only this session's photos change; the agreement line counts what is marked here or decided.
    """
    return session.photos.filter(uuid__in=list(photo_uuids), seen=False).update(seen=True)


def _photo_store(*, session: PhotoSession, fileobj: BinaryIO, filename: str) -> UploadResult:
    size = _file_size(fileobj)
    size_check(size)
    fileobj.seek(0)
    try:
        info = inspect_upload(fileobj)
    except UnreadableImage as exc:
        raise UploadRejected(getattr(exc, "reason", None) or str(exc), code="unreadable") from None
    sha256 = _sha256(fileobj)

    def put(photo: Photo) -> None:
        fileobj.seek(0)
        photo.original.save("original", File(fileobj), save=False)

    return photo_record(session=session, filename=filename, info=info, sha256=sha256, size=size, put=put)


def size_check(size: int) -> None:
    """Refuse an empty file or one over the upload limit (UploadRejected, with the sizes in words)."""
    if size == 0:
        raise UploadRejected("empty file (0 bytes)", code="empty")
    limit = settings.EYESPY_MAX_UPLOAD_BYTES
    if size > limit:
        raise UploadRejected(f"file too large ({_format_mb(size)}; limit {_format_mb(limit)})", code="too_large")



def photo_record(*, session: PhotoSession, filename: str, info: ImageInfo, sha256: str, size: int,
                 put: Callable[[Photo], None]) -> UploadResult:
    """Record checked bytes as a photo of `session`: a duplicate, the twin of its RAW or JPEG, or a new photo.

    `put(photo)` stores the bytes under `photo.original`'s name (a file save through the app, or a server-side
    copy of a direct upload); it runs before, not inside, the database transaction (slow storage I/O), and
    what it stored is deleted again if the photo turns out to be a duplicate or the commit fails.
    """
    existing = photo_duplicate(session=session, sha256=sha256)
    if existing is not None:
        return UploadResult(photo=existing, duplicate=True)

    photo = Photo(
        session=session,
        original_filename=clean_filename(filename),
        pair_stem=pair_stem(filename),
        extension=info.extension,
        content_type=info.content_type,
        sha256=sha256,
        bytes=size,
        # width/height stay empty until the worker has the EXIF-oriented size.
    )
    put(photo)
    try:
        with transaction.atomic():
            _lock_session(session)
            existing = photo_duplicate(session=session, sha256=sha256)
            if existing is not None:
                storage_delete([photo.original.name])
                return UploadResult(photo=existing, duplicate=True)
            twin = _twin(session=session, photo=photo, info=info)
            if twin is not None:
                return _pair(twin=twin, new=photo)
            photo.save()
    except IntegrityError:
        # Two requests with the same bytes raced past the duplicate check; the database kept one.
        storage_delete([photo.original.name])
        existing = photo_duplicate(session=session, sha256=sha256)
        if existing is None:
            raise
        return UploadResult(photo=existing, duplicate=True)
    except BaseException:
        storage_delete([photo.original.name])
        raise
    return UploadResult(photo=photo, duplicate=False)


def _lock_session(session: PhotoSession) -> None:
    # Uploads into one session take turns from here to their commit, so two files of a pair arriving in
    # parallel requests can't both become photos (PostgreSQL row lock; SQLite's IMMEDIATE transactions
    # already serialise every writer).
    PhotoSession.objects.select_for_update().filter(pk=session.pk).values_list("pk", flat=True).first()


def _twin(*, session: PhotoSession, photo: Photo, info: ImageInfo) -> Photo | None:
    """The session's unpaired photo with the same base name and the other kind (RAW for a JPEG, and back)."""
    if not photo.pair_stem:
        return None
    candidates = Photo.objects.filter(session=session, pair_stem=photo.pair_stem, companion="").order_by("id")
    return next((c for c in candidates if c.is_raw != info.is_raw), None)


def _pair(*, twin: Photo, new: Photo) -> UploadResult:
    """Make `new`'s stored file the second original of `twin`; the RAW is always `original`."""
    if new.is_raw:
        # The RAW arrived second: the JPEG moves to companion, the RAW becomes the original.
        twin.companion = twin.original.name
        twin.companion_filename, twin.companion_content_type = twin.original_filename, twin.content_type
        twin.companion_sha256, twin.companion_bytes = twin.sha256, twin.bytes
        twin.original = new.original.name
        twin.original_filename, twin.extension, twin.content_type = (
            new.original_filename, new.extension, new.content_type)
        twin.sha256, twin.bytes = new.sha256, new.bytes
    else:
        twin.companion = new.original.name
        twin.companion_filename, twin.companion_content_type = new.original_filename, new.content_type
        twin.companion_sha256, twin.companion_bytes = new.sha256, new.bytes
    twin.save(update_fields=[
        "original", "original_filename", "extension", "content_type", "sha256", "bytes", "companion",
        "companion_filename", "companion_content_type", "companion_sha256", "companion_bytes", "updated_at"])
    requeued = photo_state_requeue_paired(photo_id=twin.pk)
    twin.refresh_from_db()
    return UploadResult(photo=twin, duplicate=False, paired=True, requeued=requeued)
