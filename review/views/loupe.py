"""The culling loupe beside the grid: one photo large with its faces' eyes, prefetched by review.js.

The loupe partial is read-only (review.js fetches the next photos ahead of time, so fetching one says
nothing about whether the photographer saw it); what was actually shown is reported in batches to
`review_seen`, which is what the agreement line counts.
"""
from __future__ import annotations

import uuid

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET, require_POST

from sessions_app import selectors, services
from sessions_app.shortcuts import render_no_store

from .. import selectors as review

SEEN_MAX = 500  # photo ids per report


@login_required
@require_GET
def photo_loupe(request: HttpRequest, photo_uuid) -> HttpResponse:
    photo = selectors.photo_get_for_owner(owner=request.user, photo_uuid=photo_uuid)
    card = review.photo_card(photo=photo)
    if card is None:
        raise Http404("This photo is still being processed.")
    return render_no_store(request, "sessions_app/_loupe.html", {"card": card, "session": photo.session})


def _uuids(values: list[str]) -> list[uuid.UUID]:
    out = []
    for raw in values[:SEEN_MAX]:
        try:
            out.append(uuid.UUID(str(raw)))
        except ValueError:
            continue
    return out


@login_required
@require_POST
def review_seen(request: HttpRequest, session_uuid) -> HttpResponse:
    """The loupe showed these photos: remember it, answer with the agreement line (out of band)."""
    session = selectors.session_get_for_owner(owner=request.user, session_uuid=session_uuid)
    services.photos_mark_seen(session=session, photo_uuids=_uuids(request.POST.getlist("photos")))
    summary = review.session_summary(session=session)
    return render_no_store(request, "sessions_app/_agreement.html", {"agreement": summary.agreement, "oob": True})
