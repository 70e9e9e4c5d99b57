"""Shoot sessions: create, edit, delete (with every stored file)."""
from __future__ import annotations

import logging
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .. import media_names
from ..models import Client, PhotoSession, User
from .clients import client_get_or_create
from .storage import storage_delete

logger = logging.getLogger(__name__)


def _resolve_client(*, owner: User, client: Client | None, new_client_name: str) -> Client | None:
    if client is not None and new_client_name.strip():
        raise ValidationError("Pick an existing client or type a new name, not both.")
    if client is not None and client.owner_id != owner.id:
        # Forms only offer the owner's clients; this guards every other caller.
        raise ValidationError({"client": "Unknown client."})
    if new_client_name.strip():
        client, _ = client_get_or_create(owner=owner, name=new_client_name)
    return client


def _check_title(title: str) -> str:
    title = title.strip()
    if not title:
        raise ValidationError({"title": "Give the session a title."})
    return title


@transaction.atomic
def session_create(
    *,
    owner: User,
    title: str,
    client: Client | None = None,
    new_client_name: str = "",
    shot_on: date | None = None,
) -> PhotoSession:
    title = _check_title(title)
    client = _resolve_client(owner=owner, client=client, new_client_name=new_client_name)
    return PhotoSession.objects.create(owner=owner, client=client, title=title, shot_on=shot_on)


@transaction.atomic
def session_update(
    *,
    session: PhotoSession,
    title: str,
    client: Client | None = None,
    new_client_name: str = "",
    shot_on: date | None = None,
) -> PhotoSession:
    title = _check_title(title)
    session.client = _resolve_client(owner=session.owner, client=client, new_client_name=new_client_name)
    session.title = title
    session.shot_on = shot_on
    session.save(update_fields=["client", "title", "shot_on", "updated_at"])
    return session


def session_delete(*, session: PhotoSession) -> None:
    """Delete the session, its photos, predictions, exports and every stored file."""
    names = media_names.session_file_names(session)
    with transaction.atomic():
        session.delete()
        # Files go only once the rows are gone for sure; a rolled-back delete keeps its files.
        transaction.on_commit(lambda: storage_delete(names, prune_dirs=True))
    logger.info("deleted session with %d stored files", len(names))


def sessions_set_strictness(*, owner: User, strictness: float) -> int:
    """Set the strictness of every session of `owner` (a personal strictness they accepted). Returns how many."""
    value = min(1.0, max(0.0, float(strictness)))
    return PhotoSession.objects.filter(owner=owner).update(strictness=value, updated_at=timezone.now())


@transaction.atomic
def sessions_set_check_strictness(*, owner: User, values: dict[str, float]) -> int:
    """Set one or more checks' own strictness (key -> 0..1) on every session of `owner`, keeping the other
    checks' values (a personal strictness per check they accepted). Returns how many sessions."""
    clean = {str(k): min(1.0, max(0.0, float(v))) for k, v in values.items()}
    sessions = list(PhotoSession.objects.select_for_update().filter(owner=owner).only("id", "check_strictness"))
    for session in sessions:
        session.check_strictness = {**(session.check_strictness or {}), **clean}
        session.updated_at = timezone.now()
    PhotoSession.objects.bulk_update(sessions, ["check_strictness", "updated_at"], batch_size=500)
    return len(sessions)
