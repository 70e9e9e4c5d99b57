"""A photo's processing state (status, attempts, error, timings): the only code that writes it.

The worker's job logic lives in classifier.services.processing, which decides *when* a photo moves;
these functions are *how*, each one conditional UPDATE on what the caller expects the row to be, so two
workers, the sweeper and a re-run can never move the same photo twice. Each returns whether it moved it.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from ..models import Photo, PhotoSession

ERROR_MAX_CHARS = 500
S = Photo.Status


def _left_by_a_dead_run(*, task_id: str, take_back: bool) -> Q:
    # Processing, and either the broker says the message was redelivered (`take_back`), or it is the very
    # message that claimed the photo (same task id) coming back: the run that had it is gone.
    if take_back:
        return Q(status=S.PROCESSING)
    if task_id:
        return Q(status=S.PROCESSING, claimed_by_task=task_id)
    return Q(pk__in=[])


def photo_state_claim(*, photo_id: int, task_id: str = "", take_back: bool = False) -> bool:
    """queued -> processing (attempts + 1), recording which task has it. Also takes the photo back from
    `processing` when the run that had it died (see `_left_by_a_dead_run`)."""
    now = timezone.now()
    claimable = Q(status=S.QUEUED) | _left_by_a_dead_run(task_id=task_id, take_back=take_back)
    return Photo.objects.filter(claimable, pk=photo_id).update(
        status=S.PROCESSING, attempts=F("attempts") + 1, started_at=now, finished_at=None, updated_at=now,
        claimed_by_task=task_id[:64], unsent=False,
    ) == 1


def photo_state_give_up(*, photo_id: int, max_attempts: int, error: str, task_id: str = "",
                        take_back: bool = False) -> bool:
    """Left by a dead run with `max_attempts` used -> failed."""
    now = timezone.now()
    dead = _left_by_a_dead_run(task_id=task_id, take_back=take_back)
    return Photo.objects.filter(dead, pk=photo_id, attempts__gte=max_attempts).update(
        status=S.FAILED, error=error[:ERROR_MAX_CHARS], finished_at=now, updated_at=now
    ) == 1


def photo_state_release(*, photo_id: int, task_id: str = "") -> bool:
    """processing -> queued, for a retry (or the sweeper) to claim again. With `task_id`, only while that
    task still holds the photo (another run may have taken it meanwhile)."""
    held = Q(claimed_by_task=task_id[:64]) if task_id else Q()
    return Photo.objects.filter(held, pk=photo_id, status=S.PROCESSING).update(
        status=S.QUEUED, updated_at=timezone.now()) == 1


def photo_state_fail(*, photo_id: int, error: str) -> bool:
    """Anything but done -> failed with a readable reason. A photo that is already done stays done."""
    now = timezone.now()
    return Photo.objects.filter(pk=photo_id).exclude(status=S.DONE).update(
        status=S.FAILED, error=error[:ERROR_MAX_CHARS], finished_at=now, updated_at=now
    ) == 1


def photo_state_done(
    *, photo_id: int, width: int, height: int, taken_at: datetime | None, thumbnail: str, preview: str
) -> bool:
    """processing -> done, with what processing learnt about the photo and its derivative names."""
    now = timezone.now()
    done = Photo.objects.filter(pk=photo_id, status=S.PROCESSING).update(
        status=S.DONE, error="", width=width, height=height, taken_at=taken_at,
        thumbnail=thumbnail, preview=preview, finished_at=now, updated_at=now,
    ) == 1
    if done and taken_at is not None:
        # A session nobody dated takes the day its first analysed photo was taken (the camera knew).
        PhotoSession.objects.filter(photos__pk=photo_id, shot_on__isnull=True).update(
            shot_on=timezone.localtime(taken_at).date() if timezone.is_aware(taken_at) else taken_at.date())
    return done


def photo_state_requeue_paired(*, photo_id: int) -> bool:
    """done / failed -> queued (attempts from 0), because a RAW or JPEG twin joined it and may be the better
    source. A queued photo needs nothing; one being processed is sent back by its own run, which sees the
    new file when it stores (classifier.services.processing)."""
    return Photo.objects.filter(pk=photo_id, status__in=[S.DONE, S.FAILED]).update(
        status=S.QUEUED, error="", attempts=0, started_at=None, finished_at=None, updated_at=timezone.now(),
        claimed_by_task="",
    ) == 1


def photos_state_rerun(*, photos_qs: QuerySet[Photo], stuck_before: datetime) -> list[int]:
    """Reset photos to queued for a re-run (attempts from 0). Returns the ids moved.

    Takes failed and done photos, and queued/processing ones only once they look stuck (older than
    `stuck_before`), so a photo a worker is on right now is never run twice at once.
    """
    eligible = (
        Q(status__in=[S.FAILED, S.DONE])
        | Q(status=S.PROCESSING, started_at__lt=stuck_before)
        | Q(status=S.PROCESSING, started_at__isnull=True)
        | Q(status=S.QUEUED, updated_at__lt=stuck_before)
    )
    ids = list(photos_qs.filter(eligible).values_list("pk", flat=True))
    if ids:
        Photo.objects.filter(eligible, pk__in=ids).update(
            status=S.QUEUED, error="", attempts=0, started_at=None, finished_at=None, updated_at=timezone.now(),
            claimed_by_task="",
        )
    return ids


def photos_state_stuck(*, processing_before: datetime) -> list[tuple[int, int, datetime | None]]:
    """(id, attempts, started_at) of photos processing since before `processing_before` (or with no start)."""
    stuck = Photo.objects.filter(status=S.PROCESSING).filter(
        Q(started_at__lt=processing_before) | Q(started_at__isnull=True))
    return list(stuck.values_list("pk", "attempts", "started_at"))


def photo_state_requeue_stuck(*, photo_id: int, started_at: datetime | None) -> bool:
    """processing (still from the same start) -> queued."""
    return Photo.objects.filter(pk=photo_id, status=S.PROCESSING, started_at=started_at).update(
        status=S.QUEUED, updated_at=timezone.now()) == 1


def photo_state_fail_stuck(*, photo_id: int, started_at: datetime | None, error: str) -> bool:
    """processing (still from the same start) -> failed."""
    now = timezone.now()
    return Photo.objects.filter(pk=photo_id, status=S.PROCESSING, started_at=started_at).update(
        status=S.FAILED, error=error[:ERROR_MAX_CHARS], finished_at=now, updated_at=now) == 1


def photos_state_waiting(*, queued_before: datetime, limit: int) -> list[int]:
    """Ids of photos queued since before `queued_before` (at most `limit`), oldest id first."""
    return list(Photo.objects.filter(status=S.QUEUED, updated_at__lt=queued_before)
                .order_by("pk").values_list("pk", flat=True)[:limit])


def photos_state_touch(*, photo_ids: Sequence[int]) -> None:
    """Mark queued photos as just sent (so a sweep doesn't send them again straight away)."""
    Photo.objects.filter(pk__in=list(photo_ids), status=S.QUEUED).update(updated_at=timezone.now())


def photos_state_mark_unsent(*, photo_ids: Sequence[int]) -> int:
    """Queued photos whose task could not be sent (broker down): the workers re-send them."""
    return Photo.objects.filter(pk__in=list(photo_ids), status=S.QUEUED).update(unsent=True)


def photos_state_unsent(*, limit: int) -> list[int]:
    """Ids of queued photos whose task could not be sent (at most `limit`), oldest id first."""
    return list(Photo.objects.filter(unsent=True, status=S.QUEUED).order_by("pk").values_list("pk", flat=True)[:limit])


def photos_state_mark_sent(*, photo_ids: Sequence[int]) -> None:
    Photo.objects.filter(pk__in=list(photo_ids), unsent=True).update(unsent=False)
