"""Direct-to-storage uploads (S3): the browser sends each file straight to the bucket; web servers never
carry photo bytes.

1. `direct_upload_start` (the browser says name, size and SHA-256): a duplicate is answered at once (nothing
   is sent); otherwise a presigned POST for one new key under `incoming/`, limited to the upload size limit,
   plus a signed ticket naming that key, this session and what the browser announced.
2. The browser POSTs the file to the bucket.
3. `direct_upload_finish(ticket)`: the app checks the stored object by content (its size, the checksum the
   store kept, and the format read from the object's first bytes with ranged reads), copies it inside the
   bucket to the photo's original name and records the photo exactly as an upload through the app would
   be (duplicates, RAW + JPEG twins). The `incoming/` object is always deleted; an upload that is never
   finished is left to the bucket's lifecycle rule (`manage.py configure_bucket`).

Finishing twice is safe: the second call finds the photo by its hash and answers "duplicate".
The SHA-256 is the browser's: S3 verifies it against the bytes (x-amz-checksum-sha256 in the policy), and
the app compares it with the checksum the store returns; a store that keeps none (moto) is trusted for it,
which can only misplace the photographer's own duplicate check.
"""
from __future__ import annotations

import base64
import io
import logging
import re
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError
from django.conf import settings
from django.core import signing
from django.core.files.storage import default_storage

from .. import media_names
from ..login_throttle import Limit, admit
from ..models import Photo, PhotoSession
from .inspection import UnreadableImage, inspect_upload
from .photos import (
    UploadRejected,
    UploadResult,
    clean_filename,
    photo_duplicate,
    photo_record,
    rejected_upload_record,
    size_check,
)

logger = logging.getLogger(__name__)

_SALT = "eyespy.direct-upload"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# Tickets outlive the presigned POST: a large file on a slow line may still be arriving when it expires.
_TICKET_GRACE_S = 60 * 60
# One photographer's presigned POSTs per hour: far above a busy day (a 3,000-frame wedding with its JPEGs),
# far below filling a bucket with objects nobody records.
DIRECT_UPLOADS_PER_USER = Limit("direct-upload-user", 10_000, 60 * 60)
# What the format check may read of a stored object: headers sit near the start (a TIFF's IFD may not).
_HEADER_READ_LIMIT = 8 * 1024 * 1024
_RANGE_BLOCK = 256 * 1024


class DirectUploadTicketError(UploadRejected):
    """A finish call whose ticket is forged, for another session, or too old."""


@dataclass(frozen=True)
class DirectUpload:
    """What the browser needs to send one file to the bucket, then to tell the app it is there."""

    url: str
    fields: dict[str, str]
    ticket: str


def direct_uploads_enabled() -> bool:
    """True where uploads go straight to the bucket: S3 storage and EYESPY_DIRECT_UPLOADS on."""
    from storages.backends.s3 import S3Storage

    return bool(settings.EYESPY_DIRECT_UPLOADS) and isinstance(default_storage, S3Storage)


def _client():
    return default_storage.connection.meta.client


def _key(name: str) -> str:
    # The storage's own mapping from a name to an object key (its `location` prefix, if any).
    return default_storage._normalize_name(name)


def _checksum(sha256_hex: str) -> str:
    return base64.b64encode(bytes.fromhex(sha256_hex)).decode("ascii")


def direct_upload_start(*, session: PhotoSession, filename: str, size: int, sha256: str,
                        ) -> DirectUpload | UploadResult:
    """A presigned POST for one file of `session`, or the UploadResult of a duplicate (nothing to send).

    Raises UploadRejected (recorded on the session) for an empty or too large file, or a request over the
    photographer's hourly number of direct uploads.
    """
    sha256 = str(sha256 or "").strip().lower()
    if not _SHA256.match(sha256):
        raise UploadRejected("the upload did not say the file's SHA-256", code="invalid")
    try:
        size = int(size)
        size_check(size)
    except (TypeError, ValueError):
        raise UploadRejected("the upload did not say the file's size", code="invalid") from None
    except UploadRejected as exc:
        rejected_upload_record(session=session, filename=filename, reason=exc.reason, size=max(0, size))
        raise
    existing = photo_duplicate(session=session, sha256=sha256)
    if existing is not None:
        return UploadResult(photo=existing, duplicate=True)
    # Counted before anything is signed; refused requests are given back by `admit`.
    if admit([(DIRECT_UPLOADS_PER_USER, str(session.owner_id))]):
        raise UploadRejected("too many uploads in the last hour; try again later", code="throttled")

    key = _key(media_names.incoming_name(session_uuid=session.uuid))
    checksum = _checksum(sha256)
    post = _client().generate_presigned_post(
        Bucket=default_storage.bucket_name, Key=key,
        Fields={"x-amz-checksum-algorithm": "SHA256", "x-amz-checksum-sha256": checksum},
        Conditions=[
            ["content-length-range", 1, settings.EYESPY_MAX_UPLOAD_BYTES],
            {"x-amz-checksum-algorithm": "SHA256"},
            {"x-amz-checksum-sha256": checksum},
        ],
        ExpiresIn=settings.EYESPY_DIRECT_UPLOAD_EXPIRE_S,
    )
    ticket = signing.dumps({"s": str(session.uuid), "k": key, "n": clean_filename(filename), "h": sha256,
                            "z": size}, salt=_SALT, compress=True)
    return DirectUpload(url=post["url"], fields=dict(post["fields"]), ticket=ticket)


def direct_upload_finish(*, session: PhotoSession, ticket: str) -> UploadResult:
    """Check the object a browser sent to the bucket and record it as a photo of `session`.

    Raises UploadRejected (recorded on the session, the object deleted) with a reason the photographer reads.
    """
    claim = _unsign(session=session, ticket=ticket)
    key, filename, sha256, declared = claim["k"], claim["n"], claim["h"], int(claim["z"])
    existing = photo_duplicate(session=session, sha256=sha256)
    if existing is not None:  # a second finish of the same upload, or the same bytes sent twice at once
        _delete(key)
        return UploadResult(photo=existing, duplicate=True)
    size = declared
    try:
        size, info = _checked(key=key, declared=declared, sha256=sha256)

        def put(photo: Photo) -> None:
            photo.original.name = photo.original.field.generate_filename(photo, "original")
            _client().copy_object(
                Bucket=default_storage.bucket_name, Key=_key(photo.original.name),
                CopySource={"Bucket": default_storage.bucket_name, "Key": key},
                MetadataDirective="REPLACE", ContentType=info.content_type, ACL="private",
            )

        return photo_record(session=session, filename=filename, info=info, sha256=sha256, size=size, put=put)
    except UploadRejected as exc:
        rejected_upload_record(session=session, filename=filename, reason=exc.reason, size=size)
        raise
    finally:
        _delete(key)


def _unsign(*, session: PhotoSession, ticket: str) -> dict[str, Any]:
    max_age = settings.EYESPY_DIRECT_UPLOAD_EXPIRE_S + _TICKET_GRACE_S
    try:
        claim = signing.loads(str(ticket or ""), salt=_SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise DirectUploadTicketError("this upload took too long to finish; upload the file again") from None
    except signing.BadSignature:
        raise DirectUploadTicketError("this upload's ticket is not valid; upload the file again") from None
    if claim.get("s") != str(session.uuid):
        raise DirectUploadTicketError("this upload belongs to another session")
    return claim


def _checked(*, key: str, declared: int, sha256: str):
    """(size, ImageInfo) of the stored object at `key`, checked by content; raises UploadRejected."""
    try:
        head = _client().head_object(Bucket=default_storage.bucket_name, Key=key, ChecksumMode="ENABLED")
    except ClientError as exc:
        if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
            raise UploadRejected("the file did not reach the storage; upload it again", code="invalid") from None
        raise
    size = int(head.get("ContentLength") or 0)
    size_check(size)
    if size != declared:
        raise UploadRejected(f"the stored file has {size} bytes, not the {declared} that were sent; upload it again",
                             code="invalid")
    stored_checksum = head.get("ChecksumSHA256")
    if stored_checksum and stored_checksum.split("-")[0] != _checksum(sha256):
        raise UploadRejected("the stored file is not the one that was sent (checksum differs); upload it again",
                             code="invalid")
    reader = io.BufferedReader(_RangedObject(key=key, size=size), buffer_size=_RANGE_BLOCK)
    try:
        # LibRaw reads whole files: a RAW's size is left to the worker, which reads the file anyway.
        info = inspect_upload(reader, open_raw=False)
    except UnreadableImage as exc:
        raise UploadRejected(exc.reason, code="unreadable") from None
    except _ReadLimit:
        raise UploadRejected("its header is not near the start of the file, which Eye Spy can't check here; "
                             "upload it through the app (turn direct uploads off) or re-save it", code="unreadable") from None
    return size, info


def _delete(key: str) -> None:
    try:
        _client().delete_object(Bucket=default_storage.bucket_name, Key=key)
    except ClientError:
        logger.warning("could not delete the direct upload %s (the lifecycle rule will)", key, exc_info=True)


class _ReadLimit(Exception):
    pass


class _RangedObject(io.RawIOBase):
    """A stored object read with ranged GETs, only as far as the reader asks (header checks), never all of it."""

    def __init__(self, *, key: str, size: int) -> None:
        self._key, self._size, self._pos, self._fetched = key, size, 0, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer) -> int:
        if self._pos >= self._size:
            return 0
        end = min(self._size, self._pos + len(buffer)) - 1
        if self._fetched + (end - self._pos + 1) > _HEADER_READ_LIMIT:
            raise _ReadLimit
        body = _client().get_object(Bucket=default_storage.bucket_name, Key=self._key,
                                    Range=f"bytes={self._pos}-{end}")["Body"].read()
        n = len(body)
        buffer[:n] = body
        self._pos += n
        self._fetched += n
        return n
