"""Reads for photographers' clients, sessions and photos.

Every getter takes `owner=` and raises Http404 for anything that belongs to someone else, so a view
can't forget the ownership check: another photographer's ids look exactly like ids that don't exist.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from django.db.models import Count, Max, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from .models import Client, Photo, PhotoSession, RejectedUpload, User

FAILURES_SHOWN = 100  # the progress panel lists this many failed photos, then "and N more"
REJECTIONS_SHOWN = 100  # ... and this many files refused at upload


def as_uuid(value: uuid.UUID | str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise Http404("No such item.") from None


# --- Clients ----------------------------------------------------------------------------------------


def client_list(*, owner: User) -> QuerySet[Client]:
    return Client.objects.filter(owner=owner).annotate(
        session_count=Count("sessions", distinct=True),
        last_shot_on=Max("sessions__shot_on"),
    ).order_by("name")


def client_get_for_owner(*, owner: User, client_uuid: uuid.UUID | str) -> Client:
    return get_object_or_404(Client, owner=owner, uuid=as_uuid(client_uuid))


# --- Sessions ---------------------------------------------------------------------------------------


def _with_photo_counts(qs: QuerySet[PhotoSession]) -> QuerySet[PhotoSession]:
    return qs.annotate(
        photo_count=Count("photos"),
        done_count=Count("photos", filter=Q(photos__status=Photo.Status.DONE)),
        failed_count=Count("photos", filter=Q(photos__status=Photo.Status.FAILED)),
        pending_count=Count(
            "photos", filter=Q(photos__status__in=[Photo.Status.QUEUED, Photo.Status.PROCESSING])
        ),
    )


def session_list(*, owner: User, client: Client | None = None) -> QuerySet[PhotoSession]:
    """The owner's sessions, newest shoot first, with photo_count/done_count/failed_count/pending_count."""
    qs = PhotoSession.objects.filter(owner=owner).select_related("client")
    if client is not None:
        qs = qs.filter(client=client)
    return _with_photo_counts(qs).order_by("-shot_on", "-created_at")


def session_get_for_owner(*, owner: User, session_uuid: uuid.UUID | str) -> PhotoSession:
    qs = PhotoSession.objects.select_related("client", "owner")
    return get_object_or_404(qs, owner=owner, uuid=as_uuid(session_uuid))


def photo_get_for_owner(*, owner: User, photo_uuid: uuid.UUID | str) -> Photo:
    qs = Photo.objects.select_related("session", "session__owner")
    return get_object_or_404(qs, session__owner=owner, uuid=as_uuid(photo_uuid))


# --- Progress ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionProgress:
    total: int
    queued: int
    processing: int
    done: int
    failed: int
    failures: list[Photo] = field(default_factory=list)  # the first FAILURES_SHOWN, by file name

    @property
    def finished(self) -> int:
        return self.done + self.failed

    @property
    def pending(self) -> int:
        return self.queued + self.processing

    @property
    def is_active(self) -> bool:
        """Anything still waiting for (or in) a worker: the page keeps polling while this holds."""
        return self.pending > 0

    @property
    def percent(self) -> int:
        return int(100 * self.finished / self.total) if self.total else 0

    @property
    def more_failures(self) -> int:
        return max(0, self.failed - len(self.failures))


def session_progress(*, session: PhotoSession) -> SessionProgress:
    counts = dict(session.photos.order_by().values_list("status").annotate(n=Count("id")))
    failed = counts.get(Photo.Status.FAILED, 0)
    failures = (
        list(
            session.photos.filter(status=Photo.Status.FAILED)
            .only("id", "uuid", "original_filename", "error", "attempts", "session_id")
            .order_by("original_filename", "id")[:FAILURES_SHOWN]
        )
        if failed
        else []
    )
    return SessionProgress(
        total=sum(counts.values()),
        queued=counts.get(Photo.Status.QUEUED, 0),
        processing=counts.get(Photo.Status.PROCESSING, 0),
        done=counts.get(Photo.Status.DONE, 0),
        failed=failed,
        failures=failures,
    )


@dataclass(frozen=True)
class SessionRejections:
    count: int
    shown: list[RejectedUpload]  # newest first

    @property
    def more(self) -> int:
        return max(0, self.count - len(self.shown))


def session_rejected_uploads(*, session: PhotoSession) -> SessionRejections:
    """Files refused at upload (kept with their reasons, so a reload doesn't lose them)."""
    rows = list(session.rejected_uploads.all()[:REJECTIONS_SHOWN])
    count = len(rows) if len(rows) < REJECTIONS_SHOWN else session.rejected_uploads.count()
    return SessionRejections(count=count, shown=rows)


def upload_accept() -> str:
    """The upload picker's `accept`: images, HEIC and every camera RAW ending (browsers hide other files;
    the server still recognises each file by its content)."""
    from ml.imaging.raw import RAW_SUFFIXES

    return ",".join(("image/*", ".heic", ".heif", *RAW_SUFFIXES))
