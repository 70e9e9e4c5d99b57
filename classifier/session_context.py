"""What the session steps (ml.detectors.session) know about each photo: subjects, a subject's usual eyes,
the session's sharpest frames. Computed from the stored details of the predictions that count, never by
re-analysing a photo, and cached per session under the fingerprint of its predictions: a photo that arrives
or is re-run changes the fingerprint, so the next read recomputes (a whole session's steps cost
milliseconds; reading its details is the same read the review page makes anyway).

`session_contexts(session_id)` -> photo id -> check key -> context, which `photo_findings` passes to each
check's `judge`. With no step registered it is {} at no cost (no query).
"""
from __future__ import annotations

import hashlib
import logging

from django.core.cache import cache
from django.db.models import Q

from ml import detectors
from sessions_app.models import Photo

from .findings import stored_details
from .predictions import prediction_fingerprints, predictions_that_count

logger = logging.getLogger(__name__)

Contexts = dict[int, dict[str, dict]]
_CACHE_SECONDS = 24 * 3600
_CACHE_VERSION = 2  # bump when a step's output changes shape


def _cache_key(session_id: int, fingerprint: tuple, strictness: dict[str, float] | None) -> str:
    steps = tuple(step.key for step in detectors.session_steps())
    digest = hashlib.sha1(repr((steps, fingerprint, sorted((strictness or {}).items()))).encode()).hexdigest()
    return f"eyespy:contexts:v{_CACHE_VERSION}:{session_id}:{digest}"


def steps_registered() -> bool:
    return bool(detectors.session_steps())


def session_contexts(session_id: int, fingerprint: tuple | None = None,
                     strictness: dict[str, float] | None = None) -> Contexts:
    """Every registered step over the session's stored details; `fingerprint` when the caller has it,
    `strictness` the session's sliders (`findings.session_strictness`; the bursts step reads its own)."""
    if not detectors.session_steps():
        return {}
    if fingerprint is None:
        fingerprint = prediction_fingerprints([session_id])[session_id]
    cached = cache.get(_cache_key(session_id, fingerprint, strictness))
    if cached is not None:
        return cached
    details: dict[int, dict] = {}
    names: dict[int, str] = {}
    rows = predictions_that_count(Q(photo__session_id=session_id, photo__status=Photo.Status.DONE)).values_list(
        "photo_id", "details", "photo__original_filename")
    for photo_id, stored, name in rows:
        details.setdefault(photo_id, stored)  # the first row per photo is the one that counts
        names[photo_id] = name
    return contexts_from_details(session_id, fingerprint, details, names, strictness)


def contexts_from_details(session_id: int, fingerprint: tuple, details: dict[int, dict],
                          names: dict[int, str] | None = None, strictness: dict[str, float] | None = None) -> Contexts:
    """The same, for a caller that has read the session's predictions that count already (photo id ->
    Prediction.details, and their file names): no query. Cached like `session_contexts`."""
    if not detectors.session_steps():
        return {}
    key = _cache_key(session_id, fingerprint, strictness)
    cached = cache.get(key)
    if cached is not None:
        return cached
    try:
        contexts = detectors.run_session_steps({pid: stored_details(d) for pid, d in details.items()}, strictness,
                                               names)
    except Exception:  # a step's bug must not take the review down: photos are judged alone meanwhile
        logger.exception("session steps failed for session %s; judging its photos alone", session_id)
        return {}
    cache.set(key, contexts, _CACHE_SECONDS)
    return contexts
