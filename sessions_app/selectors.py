"""Reads for photographers' clients, sessions and photos.

Every getter takes `owner=` and raises Http404 for anything that belongs to someone else, so a view
can't forget the ownership check: another photographer's ids look exactly like ids that don't exist.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field

from django.db.models import Count, Max, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from .models import Client, Photo, PhotoSession, User

logger = logging.getLogger(__name__)

FAILURES_SHOWN = 100  # the progress panel lists this many failed photos, then "and N more"


def _as_uuid(value: uuid.UUID | str) -> uuid.UUID:
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
    return get_object_or_404(Client, owner=owner, uuid=_as_uuid(client_uuid))


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
    return get_object_or_404(qs, owner=owner, uuid=_as_uuid(session_uuid))


def photo_get_for_owner(*, owner: User, photo_uuid: uuid.UUID | str) -> Photo:
    qs = Photo.objects.select_related("session", "session__owner")
    return get_object_or_404(qs, session__owner=owner, uuid=_as_uuid(photo_uuid))


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


# --- Result groups ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupCounts:
    blinking: int
    not_blinking: int
    no_face: int
    unreadable: int
    exact: bool  # False: raw predictions of the live model (no corrections/strictness applied)

    @property
    def total(self) -> int:
        return self.blinking + self.not_blinking + self.no_face + self.unreadable


def _counts_from_groups(groups: object) -> tuple[int, int, int] | None:
    """Read (blinking, not_blinking, no_face) off classifier.selectors' Groups, whatever its exact shape."""
    counts = getattr(groups, "counts", None)
    if isinstance(counts, dict):
        lowered = {str(k).lower(): v for k, v in counts.items()}
        try:
            return (
                int(lowered["blinking"]),
                int(lowered["not_blinking"]),
                int(lowered.get("no_face", lowered.get("no_face_unreadable", 0))),
            )
        except (KeyError, TypeError, ValueError):
            pass
    lists = [getattr(groups, name, None) for name in ("blinking", "not_blinking", "no_face")]
    if all(isinstance(x, (list, tuple)) for x in lists):
        return tuple(len(x) for x in lists)  # type: ignore[return-value]
    return None


def _raw_prediction_counts(session: PhotoSession) -> tuple[int, int, int]:
    from classifier.models import Prediction, Verdict

    rows = dict(
        Prediction.objects.filter(
            photo__session=session, photo__status=Photo.Status.DONE, model_version__is_live=True
        )
        .order_by()
        .values_list("verdict")
        .annotate(n=Count("id"))
    )
    return rows.get(Verdict.BLINKING, 0), rows.get(Verdict.NOT_BLINKING, 0), rows.get(Verdict.NO_FACE, 0)


def session_group_counts(*, session: PhotoSession, summary: object | None = None) -> GroupCounts:
    """BLINKING / NOT BLINKING / NO FACE / UNREADABLE counts for the session page.

    Uses classifier.selectors.session_summary (corrections and the session's strictness applied, without
    building review cards: the progress panel polls this) or `summary` when the caller already has it;
    otherwise falls back to the live model's raw verdicts so the page still says something true.
    """
    unreadable = session.photos.filter(status=Photo.Status.FAILED).count()
    try:
        from classifier import selectors as classifier_selectors
    except ImportError:
        classifier_selectors = None
    groups_fn = getattr(classifier_selectors, "session_summary", None) or getattr(
        classifier_selectors, "session_groups", None
    )
    if summary is not None or groups_fn is not None:
        parsed = _counts_from_groups(summary if summary is not None else groups_fn(session=session))
        if parsed is not None:
            blinking, not_blinking, no_face = parsed
            return GroupCounts(blinking, not_blinking, no_face, unreadable, exact=True)
        logger.warning("classifier.selectors.session_groups returned an unexpected shape; using raw predictions")
    blinking, not_blinking, no_face = _raw_prediction_counts(session)
    return GroupCounts(blinking, not_blinking, no_face, unreadable, exact=False)


def sessions_blinking_counts(*, sessions: list[PhotoSession]) -> dict[int, int]:
    """Blinking photos per session id for the dashboard; {} when the classifier can't tell cheaply.

    One query for all sessions via classifier.selectors.sessions_blinking_counts if it exists, else
    the live model's raw BLINKING verdicts (corrections not applied).
    """
    if not sessions:
        return {}
    try:
        from classifier import selectors as classifier_selectors
    except ImportError:
        classifier_selectors = None
    many_fn = getattr(classifier_selectors, "sessions_blinking_counts", None)
    if many_fn is not None:
        return dict(many_fn(sessions=sessions))
    from classifier.models import Prediction, Verdict

    rows = (
        Prediction.objects.filter(
            photo__session__in=sessions,
            photo__status=Photo.Status.DONE,
            model_version__is_live=True,
            verdict=Verdict.BLINKING,
        )
        .order_by()
        .values_list("photo__session_id")
        .annotate(n=Count("id"))
    )
    return dict(rows)
