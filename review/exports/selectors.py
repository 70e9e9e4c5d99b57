"""Reads for exports. Owner-checked like every getter: another photographer's export is a 404."""
from __future__ import annotations

import uuid

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from sessions_app.models import Export, PhotoSession, User


def export_list(*, session: PhotoSession, limit: int = 20) -> QuerySet[Export]:
    return session.exports.select_related("requested_by").order_by("-created_at")[:limit]


def export_get_for_owner(*, owner: User, session: PhotoSession, export_uuid: uuid.UUID | str) -> Export:
    try:
        key = export_uuid if isinstance(export_uuid, uuid.UUID) else uuid.UUID(str(export_uuid))
    except ValueError:
        raise Http404("No such export.") from None
    qs = Export.objects.select_related("session", "session__owner")
    return get_object_or_404(qs, uuid=key, session=session, session__owner=owner)
