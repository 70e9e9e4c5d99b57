"""The photographer's corrections: append-only human ground truth.

Nothing here updates or deletes a Correction. A correction records who, when, the label before and after,
and the model version whose verdict it corrects; undo appends a new row that takes the latest one back
(`Correction.undoes`). Model runs never touch these rows (they only upsert Predictions).
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from classifier.models import Correction, Verdict
from eyespy_site.errors import AppError
from sessions_app.models import Photo, User

from .. import selectors

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
    *, photo: Photo, card: selectors.PhotoCard, label: str, by: User | None, face_index: int | None,
    batch: uuid.UUID | None = None,
) -> Correction:
    if face_index is None:
        previous = card.verdict or ""
    else:
        if not 0 <= face_index < len(card.faces):
            raise CorrectionError(f"{photo.original_filename} has no face {face_index + 1}")
        previous = card.faces[face_index].label
    flag, value = Correction.LABEL_DECISIONS[label]
    return Correction.objects.create(
        photo=photo,
        face_index=face_index,
        flag=flag,
        value=value,
        label=label,
        previous_label=previous,
        model_version_id=card.model_version_id,
        created_by=by,
        batch=batch,
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
    batch = uuid.uuid4()  # one step for the session's undo
    created: list[Correction] = []
    # Lock rows in one order so two overlapping bulk changes can't deadlock each other.
    for photo in sorted(photos, key=lambda p: p.pk):
        locked = _lock(photo)
        try:
            card = _correctable_card(locked)
        except CorrectionError as exc:
            logger.info("bulk correction skipped photo %s: %s", photo.pk, exc.reason)
            continue
        created.append(_create(photo=locked, card=card, label=label, by=by, face_index=None, batch=batch))
    return created


def _take_back(*, photo: Photo, target: Correction, by: User | None, batch: uuid.UUID | None) -> Correction:
    """Append the row that takes `target` back; its label is what the target shows once `target` is gone
    (an older correction, or the machine's verdict). Expects `photo` locked, inside a transaction."""
    undo = Correction.objects.create(
        photo=photo,
        face_index=target.face_index,
        flag=target.flag,  # the same stack as the row it takes back
        value=Correction.LABEL_DECISIONS.get(target.previous_label or target.label, ("", ""))[1],
        label=target.previous_label or target.label,  # provisional; settled just below
        previous_label=target.label,
        model_version_id=target.model_version_id,
        created_by=by,
        undoes=target,
        batch=batch,
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
            undo.value = Correction.LABEL_DECISIONS.get(restored, ("", ""))[1]
            undo.save(update_fields=["label", "value"])
    return undo


def correction_undo(*, photo: Photo, by: User | None) -> Correction | None:
    """Take back the photo's latest correction still in force (photo- or face-level) with a new row.

    Returns None when there is nothing left to undo.
    """
    try:
        with transaction.atomic():
            photo = _lock(photo)
            active = selectors.photo_active_corrections(photo=photo)
            if not active:
                return None
            target = active[0]
            undo = _take_back(photo=photo, target=target, by=by, batch=None)
    except IntegrityError:
        # Someone else took the same correction back a moment ago (one-to-one on `undoes`).
        logger.info("undo raced on photo %s; nothing more to undo", photo.pk)
        return None
    logger.info("undo %s takes back correction %s on photo %s", undo.pk, target.pk, photo.pk)
    return undo


def corrections_undo(*, photos: Sequence[Photo], by: User | None) -> list[Correction]:
    """Undo the latest correction of each photo (the bulk bar's "Undo selected")."""
    undone = []
    for photo in photos:
        row = correction_undo(photo=photo, by=by)
        if row is not None:
            undone.append(row)
    return undone


_WORDS = {Verdict.BLINKING.value: "blinking", Verdict.NOT_BLINKING.value: "keep", Verdict.NO_FACE.value: "no face"}


@dataclass(frozen=True)
class SessionUndo:
    """What the session's undo took back: the rows it appended and a sentence naming the change."""

    undos: list[Correction]
    message: str

    @property
    def photo_ids(self) -> list[int]:
        return sorted({u.photo_id for u in self.undos})


def _describe(changes: list[Correction]) -> str:
    label = _WORDS.get(changes[0].label, changes[0].label.lower())
    if len(changes) > 1:
        return f"{len(changes)} photos marked {label}"
    change = changes[0]
    name = change.photo.original_filename
    if change.face_index is not None:
        return f"face {change.face_index + 1} of {name} marked {label}"
    return f"{name} marked {label}"


@transaction.atomic
def session_undo_last(*, session, by: User) -> SessionUndo | None:
    """Undo the last change `by` made in `session` that still stands: one correction, or a whole bulk batch.

    The history is the Correction rows themselves (append-only), so it survives reloads and other tabs.
    Pressing it again walks further back. None when there is nothing of theirs left to undo.
    """
    mine = (Correction.objects.filter(photo__session=session, created_by=by, undoes__isnull=True,
                                      undone_by__isnull=True)
            .select_related("photo").order_by("-created_at", "-id"))
    last = mine.first()
    if last is None:
        return None
    changes = list(mine.filter(batch=last.batch)) if last.batch else [last]
    batch = uuid.uuid4()
    undos = []
    for change in sorted(changes, key=lambda c: c.photo_id):  # one lock order, like bulk changes
        photo = _lock(change.photo)
        undos.append(_take_back(photo=photo, target=change, by=by, batch=batch))
    logger.info("session %s: undo of %d change(s) by %s", session.pk, len(undos), getattr(by, "pk", None))
    return SessionUndo(undos=undos, message=f"Undone: {_describe(changes)}.")
