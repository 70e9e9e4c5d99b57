"""The client's side of a gallery, at /g/<token>/: no account, a signed cookie, nothing but this gallery.

A wrong, revoked or expired token, or a photo that isn't in this gallery, all get the same friendly page
with status 404, so an answer never tells which it was. Guests see previews (watermarked when the gallery
says so), their own hearts and comments, the limit and the download quota, and never a label, a score,
a file name (unless the gallery lets them: `guests_see_file_names`) or anyone else's picks.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from django.core.files.storage import default_storage
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_GET, require_POST

from sessions_app.login_throttle import client_ip, retry_message
from sessions_app.models import Gallery, Selection
from sessions_app.shortcuts import serve_stored_file

from .. import access, previews, selectors
from ..forms import GuestEntryForm
from ..selections import (
    GuestLimitError,
    SelectionError,
    download_record,
    selection_comment,
    selection_enter,
    selection_set_favourite,
    selection_submit,
)
from ..tiles import render_tiles

# same-origin, not no-referrer: the token never leaves the site in a Referer, and form posts keep their
# Origin header (no-referrer makes browsers send "Origin: null", which CSRF checking rightly refuses).
NO_LEAK_HEADERS = {"X-Robots-Tag": "noindex, nofollow", "Referrer-Policy": "same-origin"}
NO_STORE = "private, no-store"


@dataclass(frozen=True)
class Guest:
    gallery: Gallery
    selection: Selection


def _private(response: HttpResponse) -> HttpResponse:
    for name, value in NO_LEAK_HEADERS.items():
        response[name] = value
    # Nothing of a guest's (their name, their picks, the photos) stays in a shared computer's cache, nor
    # in a proxy's; this replaces the stored files' own "private, max-age".
    response["Cache-Control"] = NO_STORE
    return response


def unavailable(request: HttpRequest) -> HttpResponse:
    return _private(render(request, "galleries/public_unavailable.html", status=404))


def guest_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Resolve the token and the guest's cookie; anything short of an open gallery and an entered,
    unlocked guest is the unavailable page (pages) or 404 (everything else)."""

    @wraps(view)
    def wrapper(request: HttpRequest, token: str, *args, **kwargs) -> HttpResponse:
        gallery = access.gallery_get_open(token=token)
        if gallery is None:
            return unavailable(request)
        gp = access.guest_pass(request, gallery)
        selection = selectors.guest_selection(gallery=gallery, selection_uuid=gp.selection_uuid)
        if selection is None or not access.is_unlocked(gallery, gp):
            return unavailable(request)
        try:
            return _private(view(request, Guest(gallery, selection), *args, **kwargs))
        except Http404:  # a photo of another gallery, a made-up id: the same page as a wrong link
            return unavailable(request)

    return wrapper


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


# --- Entry ------------------------------------------------------------------------------------------------


@require_GET
@gzip_page  # 300 tiles of markup compress ~10x; Django's gzip pads against BREACH, the CSRF token is masked
def home(request: HttpRequest, token: str) -> HttpResponse:
    gallery = access.gallery_get_open(token=token)
    if gallery is None:
        return unavailable(request)
    gp = access.guest_pass(request, gallery)
    selection = selectors.guest_selection(gallery=gallery, selection_uuid=gp.selection_uuid)
    if selection is None or not access.is_unlocked(gallery, gp):
        form = GuestEntryForm(needs_name=selection is None, needs_password=not access.is_unlocked(gallery, gp))
        return _private(render(request, "galleries/public_entry.html", {"gallery": gallery, "form": form}))
    return _private(render(request, "galleries/public_gallery.html", _gallery_context(gallery, selection)))


def _gallery_context(gallery: Gallery, selection: Selection) -> dict:
    choices = selectors.selection_choices(selection=selection)
    photos = selectors.public_photos(gallery=gallery, choices=choices)
    return {
        "gallery": gallery, "selection": selection, "photos": photos,
        "count": selectors.pick_count(choices), "sizes": previews.SIZES,
        "downloads_used": selectors.downloads_used(gallery=gallery) if gallery.download_quota else None,
        "can_download": gallery.downloads != Gallery.Downloads.OFF and not gallery.watermark_text,
        "ready_count": sum(1 for p in photos if p.ready),
        "cover": next((p for p in photos if p.item.id == gallery.cover_id and p.ready), None),
        "tiles": render_tiles(photos, base=reverse("gallery:home", args=[gallery.token]),
                              locked=selection.is_submitted),
    }


@require_POST
def enter(request: HttpRequest, token: str) -> HttpResponse:
    gallery = access.gallery_get_open(token=token)
    if gallery is None:
        return unavailable(request)
    gp = access.guest_pass(request, gallery)
    selection = selectors.guest_selection(gallery=gallery, selection_uuid=gp.selection_uuid)
    needs_password = not access.is_unlocked(gallery, gp)
    form = GuestEntryForm(request.POST, needs_name=selection is None, needs_password=needs_password)
    status = 200
    if form.is_valid():
        wait = access.password_attempt(gallery=gallery, request=request,
                                       raw=form.cleaned_data["password"]) if needs_password else None
        if wait:
            form.add_error("password", retry_message(wait))
            status = 429
        elif wait == 0:
            form.add_error("password", "That password isn't right. Check the message from your photographer.")
            status = 403
        else:
            if needs_password:
                gp = access.unlocked_pass(gallery, gp)
            if selection is None:
                try:
                    selection = selection_enter(gallery=gallery, name=form.cleaned_data["name"],
                                                email=form.cleaned_data["email"], client_ip=client_ip(request))
                except SelectionError as exc:
                    return _entry_refused(request, gallery, form, exc)
                gp = access.with_selection(gp, selection)
            response = redirect("gallery:home", token=gallery.token)
            access.set_guest_cookie(response, gallery=gallery, gp=gp, request=request)
            return _private(response)
    context = {"gallery": gallery, "form": form}
    return _private(render(request, "galleries/public_entry.html", context, status=status))


def _entry_refused(request: HttpRequest, gallery: Gallery, form: GuestEntryForm, exc: SelectionError) -> HttpResponse:
    form.add_error(None, exc.reason)
    response = render(request, "galleries/public_entry.html", {"gallery": gallery, "form": form},
                      status=_refusal_status(exc))
    return _private(_with_retry_after(response, exc))


def _refusal_status(exc: SelectionError) -> int:
    return 429 if isinstance(exc, GuestLimitError) else 409


def _with_retry_after(response: HttpResponse, exc: SelectionError) -> HttpResponse:
    if isinstance(exc, GuestLimitError) and exc.retry_after:
        response["Retry-After"] = str(exc.retry_after)
    return response


# --- Photos -------------------------------------------------------------------------------------------------


@require_GET
@guest_view
def photo_preview(request: HttpRequest, guest: Guest, item_uuid, size: int) -> HttpResponse:
    """One preview size of one of this gallery's photos; the gallery decides the watermark, not the URL."""
    if size not in previews.SIZES:
        return unavailable(request)
    item = selectors.public_item(gallery=guest.gallery, item_uuid=item_uuid)
    key = previews.preview_key(guest.gallery.watermark_text)
    if item.preview_key != key or item.preview_status != item.PreviewStatus.READY:
        return unavailable(request)
    return serve_stored_file(default_storage, previews.preview_name(item, key=key, size=size),
                             content_type="image/jpeg")


@require_POST
@guest_view
def photo_download(request: HttpRequest, guest: Guest, item_uuid) -> HttpResponse:
    """Web size or the original, as the gallery allows, counted against its quota. POST: it spends one."""
    gallery = guest.gallery
    item = selectors.public_item(gallery=gallery, item_uuid=item_uuid)
    if gallery.downloads == Gallery.Downloads.OFF or gallery.watermark_text:
        return unavailable(request)
    key = previews.preview_key(gallery.watermark_text)
    if gallery.downloads == Gallery.Downloads.WEB and item.preview_key != key:
        return unavailable(request)
    try:
        download_record(selection=guest.selection, item=item)
    except SelectionError as exc:
        return render(request, "galleries/public_message.html", {"gallery": gallery, "message": exc.reason},
                      status=409)
    photo, original = item.photo, gallery.downloads == Gallery.Downloads.ORIGINALS
    filename = selectors.guest_download_name(gallery=gallery, item=item, original=original)
    if original:
        return serve_stored_file(photo.original.storage, photo.original.name, content_type=photo.content_type,
                                 filename=filename, as_attachment=True)
    return serve_stored_file(default_storage, previews.preview_name(item, key=key, size=previews.WEB_SIZE),
                             content_type="image/jpeg", filename=filename, as_attachment=True)


def _state(guest: Guest, count: int | None = None) -> dict:
    gallery = guest.gallery
    if count is None:
        count = selectors.pick_count(selectors.selection_choices(selection=guest.selection))
    return {"count": count, "max": gallery.max_picks, "min": gallery.min_picks}


def _answer(request: HttpRequest, guest: Guest, data: dict, status: int = 200) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(data, status=status)
    return redirect("gallery:home", token=guest.gallery.token)  # a form post without JavaScript


@require_POST
@guest_view
def photo_favourite(request: HttpRequest, guest: Guest, item_uuid) -> HttpResponse:
    item = selectors.public_item(gallery=guest.gallery, item_uuid=item_uuid)
    wanted = request.POST.get("favourite", "1") == "1"
    try:
        result = selection_set_favourite(selection=guest.selection, item=item, favourite=wanted)
    except SelectionError as exc:
        return _answer(request, guest, {**_state(guest), "favourite": not wanted, "error": exc.reason}, 409)
    return _answer(request, guest, {**_state(guest, result.count), "favourite": result.favourite})


@require_POST
@guest_view
def photo_comment(request: HttpRequest, guest: Guest, item_uuid) -> HttpResponse:
    item = selectors.public_item(gallery=guest.gallery, item_uuid=item_uuid)
    try:
        text = selection_comment(selection=guest.selection, item=item, text=request.POST.get("comment", ""))
    except SelectionError as exc:
        return _with_retry_after(_answer(request, guest, {"error": exc.reason}, _refusal_status(exc)), exc)
    return _answer(request, guest, {"comment": text})


@require_POST
@guest_view
def submit(request: HttpRequest, guest: Guest) -> HttpResponse:
    try:
        selection_submit(selection=guest.selection)
    except SelectionError as exc:
        return _answer(request, guest, {**_state(guest), "error": exc.reason}, 409)
    return _answer(request, guest, {**_state(guest), "submitted": True})
