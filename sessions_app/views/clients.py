"""A photographer's clients: list, create, edit, delete."""
from __future__ import annotations

from functools import partial

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from .. import selectors, services
from ..forms import ClientForm
from sessions_app.shortcuts import save_valid_form


@login_required
def client_list(request: HttpRequest) -> HttpResponse:
    return render(request, "sessions_app/client_list.html", {"clients": selectors.client_list(owner=request.user)})


@login_required
def client_create(request: HttpRequest) -> HttpResponse:
    form = ClientForm(request.POST or None)
    client = save_valid_form(request, form, partial(services.client_create, owner=request.user))
    if client is not None:
        messages.success(request, f"Added client “{client.name}”.")
        return redirect("sessions:client_detail", client_uuid=client.uuid)
    return render(request, "sessions_app/client_form.html", {"form": form, "client": None})


@login_required
def client_detail(request: HttpRequest, client_uuid) -> HttpResponse:
    client = selectors.client_get_for_owner(owner=request.user, client_uuid=client_uuid)
    sessions = selectors.session_list(owner=request.user, client=client)
    return render(request, "sessions_app/client_detail.html", {"client": client, "sessions": sessions})


@login_required
def client_edit(request: HttpRequest, client_uuid) -> HttpResponse:
    client = selectors.client_get_for_owner(owner=request.user, client_uuid=client_uuid)
    initial = {"name": client.name, "email": client.email, "notes": client.notes}
    form = ClientForm(request.POST or None, initial=initial)
    if save_valid_form(request, form, partial(services.client_update, client=client)) is not None:
        messages.success(request, "Client saved.")
        return redirect("sessions:client_detail", client_uuid=client.uuid)
    return render(request, "sessions_app/client_form.html", {"form": form, "client": client})


@login_required
def client_delete(request: HttpRequest, client_uuid) -> HttpResponse:
    client = selectors.client_get_for_owner(owner=request.user, client_uuid=client_uuid)
    if request.method == "POST":
        name = client.name
        services.client_delete(client=client)
        messages.success(request, f"Deleted client “{name}”. Their sessions are kept.")
        return redirect("sessions:client_list")
    session_count = selectors.session_list(owner=request.user, client=client).count()
    return render(request, "sessions_app/client_confirm_delete.html", {"client": client, "session_count": session_count})
