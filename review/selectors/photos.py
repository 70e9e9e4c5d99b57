"""Reads about one photo: its card, its stored faces, and the corrections undo can take back."""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from classifier.models import Correction
from sessions_app.models import Photo

from .cards import PhotoCard
from .labels import _order_key, _strictness, correction_stacks, flag_stacks, thresholds_for
from .loading import _corrections, _Loaded, predictions_by_photo


def photo_card(*, photo: Photo, strictness: float | None = None) -> PhotoCard | None:
    """One photo's card (None while it is still being processed)."""
    value = _strictness(photo.session, strictness)
    cards, _ = _Loaded.of([photo], Q(photo=photo)).cards(thresholds_for(value))
    return cards[0] if cards else None


def photo_cards(*, photos: list[Photo]) -> dict[int, PhotoCard]:
    """photo id -> card for many photos at once (a handful of queries per session, not per photo); a photo
    still being processed has none. Each photo's `session` should be loaded (select_related)."""
    out: dict[int, PhotoCard] = {}
    by_session: dict[int, list[Photo]] = {}
    for photo in photos:
        by_session.setdefault(photo.session_id, []).append(photo)
    for group in by_session.values():
        loaded = _Loaded.of(group, Q(photo__in=[p.pk for p in group]))
        cards, _ = loaded.cards(thresholds_for(_strictness(group[0].session, None)))
        out.update((card.photo.pk, card) for card in cards)
    return out


@dataclass(frozen=True)
class StoredFaces:
    faces: list[dict]  # as stored: boxes, eyes, crop names
    model_version_id: int | None  # whose prediction they are (None: no prediction yet)


def photo_stored_faces(*, photo: Photo) -> StoredFaces:
    """The faces as analysed in the prediction that counts (the one the review screen shows)."""
    prediction = predictions_by_photo(Q(photo=photo)).get(photo.id)
    if prediction is None:
        return StoredFaces(faces=[], model_version_id=None)
    faces = (prediction.details or {}).get("faces")
    faces = [f for f in faces if isinstance(f, dict)] if isinstance(faces, list) else []
    return StoredFaces(faces=faces, model_version_id=prediction.model_version_id)


def photo_active_corrections(*, photo: Photo) -> list[Correction]:
    """Corrections of this photo still in force (all faces), newest first: what undo takes back next."""
    corrections = _corrections(Q(photo=photo))
    stacks = [*correction_stacks(corrections).values(), *flag_stacks(corrections).values()]
    active = [c for stack in stacks for c in stack]
    return sorted(active, key=_order_key, reverse=True)
