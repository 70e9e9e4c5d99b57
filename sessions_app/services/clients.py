"""A photographer's clients."""
from __future__ import annotations

from django.core.exceptions import ValidationError

from ..models import Client, User


def _check_client_name(*, owner: User, name: str, exclude_id: int | None = None) -> str:
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Give the client a name."})
    clash = Client.objects.filter(owner=owner, name__iexact=name)
    if exclude_id is not None:
        clash = clash.exclude(id=exclude_id)
    if clash.exists():
        raise ValidationError({"name": f"You already have a client called “{name}”."})
    return name


def client_create(*, owner: User, name: str, email: str = "", notes: str = "") -> Client:
    name = _check_client_name(owner=owner, name=name)
    return Client.objects.create(owner=owner, name=name, email=email.strip(), notes=notes.strip())


def client_get_or_create(*, owner: User, name: str) -> tuple[Client, bool]:
    """The owner's client with this name (case-insensitive), created if new."""
    name = name.strip()
    existing = Client.objects.filter(owner=owner, name__iexact=name).first()
    if existing is not None:
        return existing, False
    return client_create(owner=owner, name=name), True


def client_update(*, client: Client, name: str, email: str = "", notes: str = "") -> Client:
    client.name = _check_client_name(owner=client.owner, name=name, exclude_id=client.id)
    client.email = email.strip()
    client.notes = notes.strip()
    client.save(update_fields=["name", "email", "notes", "updated_at"])
    return client


def client_delete(*, client: Client) -> None:
    # Sessions stay (their client becomes empty): photos are the photographer's work, not the client's.
    client.delete()
