"""Reading a session's or a photo's rows once (photos, chosen predictions, correction stacks) to build cards."""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from classifier.models import Correction, Prediction
from classifier import selectors as classifier_selectors
from classifier.selectors import predictions_that_count
from sessions_app.models import Photo, PhotoSession

from .cards import PhotoCard
from .labels import _build_card, correction_stacks, flag_stacks

# --- Loading ----------------------------------------------------------------------------------------------


def predictions_by_photo(photo_filter: Q) -> dict[int, Prediction]:
    best: dict[int, Prediction] = {}
    rows = (
        predictions_that_count(photo_filter)
        .select_related("model_version")
        .only("id", "photo_id", "verdict", "confidence", "reason", "details", "updated_at",
              "model_version__id", "model_version__is_live")
    )
    for p in rows:
        best.setdefault(p.photo_id, p)
    return best


def _corrections(photo_filter: Q) -> list[Correction]:
    return list(
        Correction.objects.filter(photo_filter).select_related("created_by").order_by("created_at", "id")
    )


@dataclass(frozen=True)
class _Loaded:
    photos: list[Photo]
    predictions: dict[int, Prediction]
    stacks: dict[tuple[int, int | None], list[Correction]]
    flags: dict[tuple[int, str], list[Correction]]  # the other checks' decisions (labels.flag_stacks)
    contexts: dict[int, dict]  # photo id -> check key -> what the session steps know (session_contexts)

    @classmethod
    def of(cls, photos: list[Photo], photo_filter: Q, *, whole_session: PhotoSession | None = None,
           fingerprint: tuple | None = None) -> "_Loaded":
        """`whole_session`: `photos` are all of it, so the session steps read the predictions loaded here
        (no second read of the details); `fingerprint`: its predictions' (read before them), when known."""
        corrections = _corrections(photo_filter)
        predictions = predictions_by_photo(photo_filter)
        contexts: dict[int, dict] = {}
        if whole_session is not None and classifier_selectors.steps_registered():
            if fingerprint is None:
                fingerprint = classifier_selectors.prediction_fingerprints([whole_session.id])[whole_session.id]
            done = {p.id for p in photos if p.status == Photo.Status.DONE}
            contexts = classifier_selectors.contexts_from_details(
                whole_session.id, fingerprint, {pid: p.details for pid, p in predictions.items() if pid in done},
                {p.id: p.original_filename for p in photos}, classifier_selectors.session_strictness(whole_session))
        else:
            for session in {photo.session_id: photo.session for photo in photos}.values():
                contexts.update(classifier_selectors.session_contexts(
                    session.id, strictness=classifier_selectors.session_strictness(session)))
        return cls(photos=photos, predictions=predictions, stacks=correction_stacks(corrections),
                   flags=flag_stacks(corrections), contexts=contexts)

    def cards(self, thresholds) -> tuple[list[PhotoCard], int]:
        cards, pending = [], 0
        for photo in self.photos:
            card = _build_card(photo, self.predictions.get(photo.id), self.stacks, thresholds, self.flags,
                               self.contexts.get(photo.id))
            if card is None:
                pending += 1
            else:
                cards.append(card)
        return cards, pending


def _load_session(session: PhotoSession, fingerprint: tuple | None = None) -> _Loaded:
    photos = list(session.photos.all().order_by("original_filename", "id"))
    for photo in photos:
        photo.session = session  # each card reads its session's sliders: no query per photo
    return _Loaded.of(photos, Q(photo__session=session), whole_session=session, fingerprint=fingerprint)
