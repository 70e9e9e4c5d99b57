"""The photographer's corrections: append-only human ground truth.

Nothing here updates or deletes a Correction. A correction records who, when, the label before and after,
and the model version whose verdict it corrects; undo appends a new row that takes the latest one back
(`Correction.undoes`). Model runs never touch these rows (they only upsert Predictions).
"""
from __future__ import annotations

import logging
from collections.abc import Sequence

from django.db import IntegrityError, transaction

from eyespy_site.errors import AppError
from sessions_app.models import Photo, User

from .. import selectors
from ..models import Correction, Verdict

logger = logging.getLogger(__name__)

PHOTO_LABELS = frozenset(v.value for v in Verdict)
FACE_LABELS = frozenset({Verdict.BLINKING.value, Verdict.NOT_BLINKING.value})


class CorrectionError(AppError):
    """A correction that can't be made. `reason` is shown to the photographer as is."""


def _check_label(label: str, *, face_index: int | None) -> str:
    label = str(label or "").strip().upper()
    allowed = PHOTO_LABELS if face_index is None else FACE_LABELS
    if label not in allowed:
        target = "a photo" if face_index is None else "a face"
        raise CorrectionError(f"unknown label {label!r} for {target} (use one of {', '.join(sorted(allowed))})")
    return label


def _lock(photo: Photo) -> Photo:
    # Serialises corrections of one photo (PostgreSQL row lock; SQLite's IMMEDIATE transactions do the same).
    return Photo.objects.select_for_update().select_related("session").get(pk=photo.pk)


def _correctable_card(photo: Photo) -> selectors.PhotoCard:
    card = selectors.photo_card(photo=photo)
    if card is None:
        raise CorrectionError(f"{photo.original_filename} is still being processed")
    if card.unreadable:
        raise CorrectionError(f"{photo.original_filename} could not be read, so there is no verdict to correct")
    return card


def _create(
    *, photo: Photo, card: selectors.PhotoCard, label: str, by: User | None, face_index: int | None
) -> Correction:
    if face_index is None:
        previous = card.verdict or ""
    else:
        if not 0 <= face_index < len(card.faces):
            raise CorrectionError(f"{photo.original_filename} has no face {face_index + 1}")
        previous = card.faces[face_index].label
    return Correction.objects.create(
        photo=photo,
        face_index=face_index,
        label=label,
        previous_label=previous,
        model_version_id=card.model_version_id,
        created_by=by,
    )


@transaction.atomic
def correction_create(*, photo: Photo, label: str, by: User | None, face_index: int | None = None) -> Correction:
    """Record that `photo` (or one of its faces) is `label`. Raises CorrectionError with a readable reason.

    Confirming the machine's own label is recorded too: it pins the photo against later strictness changes
    and tells training the verdict was checked by a person.
    """
    label = _check_label(label, face_index=face_index)
    if face_index is not None and face_index < 0:
        raise CorrectionError("face numbers start at 1")
    photo = _lock(photo)
    card = _correctable_card(photo)
    correction = _create(photo=photo, card=card, label=label, by=by, face_index=face_index)
    logger.info("correction %s on photo %s (face %s): %s -> %s",
                correction.pk, photo.pk, face_index, correction.previous_label, label)
    return correction


@transaction.atomic
def corrections_bulk_create(*, photos: Sequence[Photo], label: str, by: User | None) -> list[Correction]:
    """Mark many photos at once (whole-photo). Photos still processing or unreadable are skipped, not fatal."""
    label = _check_label(label, face_index=None)
    created: list[Correction] = []
    # Lock rows in one order so two overlapping bulk changes can't deadlock each other.
    for photo in sorted(photos, key=lambda p: p.pk):
        locked = _lock(photo)
        try:
            card = _correctable_card(locked)
        except CorrectionError as exc:
            logger.info("bulk correction skipped photo %s: %s", photo.pk, exc.reason)
            continue
        created.append(_create(photo=locked, card=card, label=label, by=by, face_index=None))
    return created


def correction_undo(*, photo: Photo, by: User | None) -> Correction | None:
    """Take back the photo's latest correction still in force (photo- or face-level) with a new row.

    The new row's label is what the target shows once the taken-back correction is gone (an older
    correction, or the machine's verdict). Returns None when there is nothing left to undo.
    """
    try:
        with transaction.atomic():
            photo = _lock(photo)
            active = selectors.photo_active_corrections(photo=photo)
            if not active:
                return None
            target = active[0]
            undo = Correction.objects.create(
                photo=photo,
                face_index=target.face_index,
                label=target.previous_label or target.label,  # provisional; settled just below
                previous_label=target.label,
                model_version_id=target.model_version_id,
                created_by=by,
                undoes=target,
            )
            card = selectors.photo_card(photo=photo)
            if card is not None and not card.unreadable:
                if target.face_index is None:
                    restored = card.verdict
                elif target.face_index < len(card.faces):
                    restored = card.faces[target.face_index].label
                else:
                    restored = undo.label
                if restored and restored != undo.label:
                    undo.label = restored
                    undo.save(update_fields=["label"])
    except IntegrityError:
        # Someone else took the same correction back a moment ago (one-to-one on `undoes`).
        logger.info("undo raced on photo %s; nothing more to undo", photo.pk)
        return None
    logger.info("undo %s takes back correction %s on photo %s", undo.pk, target.pk, photo.pk)
    return undo


def corrections_undo(*, photos: Sequence[Photo], by: User | None) -> list[Correction]:
    """Undo the latest correction of each photo (the review screen's U / Ctrl+Z after a bulk change)."""
    undone = []
    for photo in photos:
        row = correction_undo(photo=photo, by=by)
        if row is not None:
            undone.append(row)
    return undone
