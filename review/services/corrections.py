"""The photographer's corrections: append-only human ground truth.

Nothing here updates or deletes a Correction. A correction records who, when, the label before and after,
and the model version whose verdict it corrects; undo appends a new row that takes the latest one back
(`Correction.undoes`). Model runs never touch these rows (they only upsert Predictions).
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from classifier import selectors as classifier_selectors
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


WHOLE_PHOTO_VALUES = ("keep", "reject", "no_face")  # "keep anyway", "reject", "no face": the whole photo
FLAG_VALUES = (Correction.Value.FLAGGED.value, Correction.Value.CLEAR.value)
_FACE_LEVELS = ("face", "eye")


@dataclass(frozen=True)
class Decision:
    """What one correction says: (flag, value), and the eye check's old label for readers that use it."""

    flag: str
    value: str
    label: str  # BLINKING / NOT_BLINKING / NO_FACE, or "" when the decision isn't about the eyes


def decision_of(*, label: str = "", flag: str | None = None, value: str = "", face_index: int | None = None) -> Decision:
    """Validate a correction: an eye-check `label` (today's words) or a `flag` (a registered check's key;
    "" for the whole photo) with its `value`. Raises CorrectionError with a readable reason."""
    if label or flag is None:
        label = _check_label(label, face_index=face_index)
        return Decision(*Correction.LABEL_DECISIONS[label], label)
    value = str(value or "").strip().lower()
    if flag == "":
        if face_index is not None or value not in WHOLE_PHOTO_VALUES:
            raise CorrectionError(f"a whole-photo decision is one of {', '.join(WHOLE_PHOTO_VALUES)}, for the photo")
        return Decision("", value, "NO_FACE" if value == "no_face" else "")
    check = next((c for c in classifier_selectors.checks() if c["key"] == flag), None)
    if check is None:
        raise CorrectionError(f"there is no check {flag!r}")
    if value not in FLAG_VALUES:
        raise CorrectionError(f"a check's flag is {' or '.join(FLAG_VALUES)}, not {value!r}")
    if face_index is not None and check["level"] not in _FACE_LEVELS:
        raise CorrectionError(f"{check['title']} is judged on the whole photo, not on one face")
    eyes = {v: k for k, v in Correction.LABEL_DECISIONS.items()}.get((flag, value), "")
    return Decision(flag, value, eyes)


def _lock(photo: Photo) -> Photo:
    # Serialises corrections of one photo (PostgreSQL row lock; SQLite's IMMEDIATE transactions do the same).
    return Photo.objects.select_for_update().select_related("session").get(pk=photo.pk)


def _correctable_card(photo: Photo) -> selectors.PhotoCard:
    return _correctable(photo, selectors.photo_card(photo=photo))


def _correctable(photo: Photo, card: selectors.PhotoCard | None) -> selectors.PhotoCard:
    """`card`, or CorrectionError saying why the photo can't be corrected."""
    if card is None:
        raise CorrectionError(f"{photo.original_filename} is still being processed")
    if card.unreadable:
        raise CorrectionError(f"{photo.original_filename} could not be read, so there is no verdict to correct")
    return card


def _create(
    *, photo: Photo, card: selectors.PhotoCard, decision: Decision, by: User | None, face_index: int | None,
    batch: uuid.UUID | None = None,
) -> Correction:
    row = _row(photo=photo, card=card, decision=decision, by=by, face_index=face_index, batch=batch)
    row.save(force_insert=True)
    return row


def _row(
    *, photo: Photo, card: selectors.PhotoCard, decision: Decision, by: User | None, face_index: int | None,
    batch: uuid.UUID | None = None,
) -> Correction:
    """The unsaved Correction recording `decision` against `card` (the photo as it stands)."""
    if face_index is None:
        previous = card.verdict or ""
    else:
        if not 0 <= face_index < len(card.faces):
            raise CorrectionError(f"{photo.original_filename} has no face {face_index + 1}")
        previous = card.faces[face_index].label
    return Correction(
        photo=photo,
        face_index=face_index,
        flag=decision.flag,
        value=decision.value,
        label=decision.label,
        previous_label=previous,
        model_version_id=card.model_version_id,
        created_by=by,
        batch=batch,
    )


@transaction.atomic
def correction_create(*, photo: Photo, by: User | None, label: str = "", face_index: int | None = None,
                      flag: str | None = None, value: str = "") -> Correction:
    """Record the photographer's word on `photo` (or one of its faces): an eye-check `label` (BLINKING /
    NOT_BLINKING / NO_FACE), or a check's `flag` with `value` flagged / clear ("not a blink", "this face is
    blinking", later "not soft"), or with flag "" the whole photo: keep (anyway) / reject / no_face.
    Raises CorrectionError with a readable reason.

    Confirming the machine's own label is recorded too: it pins the photo against later strictness changes
    and tells training the verdict was checked by a person.
    """
    if face_index is not None and face_index < 0:
        raise CorrectionError("face numbers start at 1")
    decision = decision_of(label=label, flag=flag, value=value, face_index=face_index)
    photo = _lock(photo)
    card = _correctable_card(photo)
    correction = _create(photo=photo, card=card, decision=decision, by=by, face_index=face_index)
    logger.info("correction %s on photo %s (face %s): %s -> %s %s",
                correction.pk, photo.pk, face_index, correction.previous_label, decision.flag or "photo",
                decision.value)
    return correction


@transaction.atomic
def corrections_bulk_create(*, photos: Sequence[Photo], label: str, by: User | None) -> list[Correction]:
    """Mark many photos at once (whole-photo). Photos still processing or unreadable are skipped, not fatal."""
    decision = decision_of(label=label)
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
        created.append(_create(photo=locked, card=card, decision=decision, by=by, face_index=None, batch=batch))
    return created


@transaction.atomic
def whole_photo_decisions_create(
    *, decisions: Sequence[tuple[Photo, str]], by: User | None, eyes: Mapping[int, str] | None = None,
) -> tuple[list[Correction], dict[int, str]]:
    """Record many whole-photo decisions (keep / reject / no_face, each photo its own) as one undo step, e.g.
    the ratings read back from an editor. `eyes` (photo id -> flagged / clear) adds the eye check's word on
    the whole photo, recorded just before that photo's decision in the same batch: the decision stays on top
    for the review, and `selectors.in_force` hands training the eye row under it. Returns (rows created,
    {photo id: why it was skipped}) — a photo still processing or unreadable is skipped, not fatal."""
    eyes = eyes or {}
    checked = [(photo, decision_of(flag="", value=value),
                decision_of(flag=classifier_selectors.EYES, value=eyes[photo.pk]) if eyes.get(photo.pk) else None)
               for photo, value in decisions]
    batch = uuid.uuid4()  # the session's undo takes the whole set back at once
    # Lock every photo in one query, in one order (like bulk changes), then read their cards in bulk: a
    # few queries per read, not per photo (600 photos from an editor in one web request).
    locked = {p.pk: p for p in Photo.objects.select_for_update().select_related("session")
              .filter(pk__in=[photo.pk for photo, _, _ in checked]).order_by("pk")}
    cards = selectors.photo_cards(photos=list(locked.values()))
    rows: list[Correction] = []
    skipped: dict[int, str] = {}
    for photo, decision, eye in sorted(checked, key=lambda row: row[0].pk):
        if photo.pk not in locked:
            skipped[photo.pk] = f"{photo.original_filename} was deleted meanwhile"
            continue
        try:
            card = _correctable(locked[photo.pk], cards.get(photo.pk))
        except CorrectionError as exc:
            skipped[photo.pk] = exc.reason
            continue
        for said in (eye, decision) if eye else (decision,):  # the decision last: it is the stack's top
            rows.append(_row(photo=locked[photo.pk], card=card, decision=said, by=by, face_index=None, batch=batch))
    created = Correction.objects.bulk_create(rows)
    logger.info("%d whole-photo decision(s) recorded as batch %s (%d row(s) with their eyes), %d skipped",
                len(checked) - len(skipped), batch, len(created), len(skipped))
    return created, skipped


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
    if target.decision[0] not in ("", classifier_selectors.EYES):  # another check: its flag as it now stands
        state = card.outcome.flag(target.decision[0]) if card is not None and card.outcome is not None else None
        undo.value = Correction.Value.FLAGGED if state is not None and state.state == "yes" else Correction.Value.CLEAR
        undo.save(update_fields=["value"])
    elif card is not None and not card.unreadable:
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
_WHOLE_WORDS = {"keep": "keep anyway", "reject": "reject", "no_face": "no face"}


def decision_words(correction: Correction) -> str:
    """What a correction said, in a photographer's words ("blinking", "keep anyway", "not too wide")."""
    flag, value = correction.decision
    if not flag:
        return _WHOLE_WORDS.get(value, value)
    if flag == classifier_selectors.EYES and correction.label in _WORDS:
        return _WORDS[correction.label]
    check = next((c for c in classifier_selectors.checks() if c["key"] == flag), None)
    words = check["words"] if check else {}
    return (words.get("flagged") if value == Correction.Value.FLAGGED else words.get("clear")) or f"{flag} {value}"


@dataclass(frozen=True)
class SessionUndo:
    """What the session's undo took back: the rows it appended and a sentence naming the change."""

    undos: list[Correction]
    message: str

    @property
    def photo_ids(self) -> list[int]:
        return sorted({u.photo_id for u in self.undos})


def _describe(changes: list[Correction]) -> str:
    label = decision_words(changes[0]).lower()
    photos = len({c.photo_id for c in changes})  # an editor's keep and its eyes-open row are one photo
    if photos > 1:
        return f"{photos} photos marked {label}"
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
