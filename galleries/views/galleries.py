"""The photographer's galleries: create one from a session, share it, arrange it, see and export the picks."""
from __future__ import annotations

import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_cache_control
from django.utils.http import content_disposition_header
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST

from sessions_app import selectors as session_selectors

from .. import exports, guest_limits, notify, selectors, services
from ..forms import GalleryCreateForm, GalleryOptionsForm, SendLinkForm
from ..notify import public_url
from ..selections import selection_mark_seen, selection_reopen

EXPORT_FORMATS = ("csv", "xmp")


def _form_error(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


@login_required
@require_GET
def gallery_list(request: HttpRequest) -> HttpResponse:
    return render(request, "galleries/gallery_list.html", {"galleries": selectors.gallery_list(owner=request.user)})


@login_required
def gallery_create(request: HttpRequest, session_uuid) -> HttpResponse:
    session = session_selectors.session_get_for_owner(owner=request.user, session_uuid=session_uuid)
    sources = selectors.session_gallery_sources(session=session)
    candidates = sources.all
    form = GalleryCreateForm(request.POST or None, initial=GalleryCreateForm.initial_for_session(session),
                             photo_choices=[(str(p.uuid), p.original_filename) for p in candidates])
    if request.method == "POST" and form.is_valid():
        source, wanted = form.cleaned_data["source"], set(form.cleaned_data["photos"])
        if source == services.SOURCE_PICKED:
            photos = [p for p in candidates if str(p.uuid) in wanted]
        else:
            photos = sources.keepers if source == services.SOURCE_KEEPERS else sources.all
        try:
            gallery = services.gallery_create(session=session, photos=photos, **form.service_values())
        except ValidationError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, f"Gallery “{gallery.title}” created with {len(photos)} photos.")
            return redirect("sessions:gallery_detail", gallery_uuid=gallery.uuid)
    return render(request, "galleries/gallery_form.html",
                  {"form": form, "session": session, "gallery": None, "candidates": candidates})


@login_required
@require_GET
def gallery_detail(request: HttpRequest, gallery_uuid) -> HttpResponse:
    gallery = selectors.gallery_get_for_owner(owner=request.user, gallery_uuid=gallery_uuid)
    items = selectors.gallery_items(gallery=gallery)
    chosen = selectors.gallery_selections(gallery=gallery, items=items)
    ready, total = selectors.preview_progress(gallery=gallery)
    context = {
        "gallery": gallery, "items": items, "chosen": chosen, "url": public_url(gallery),
        "previews_ready": ready, "previews_total": total, "send_form": SendLinkForm(initial={"to": gallery.client_email}),
        "send_limits": notify.LINK_MAIL_LIMITS_TEXT,
        "filters": exports.filename_filters(chosen.combined), "guests_max": guest_limits.GUESTS_MAX,
    }
    return render(request, "galleries/gallery_detail.html", context)


@login_required
def gallery_edit(request: HttpRequest, gallery_uuid) -> HttpResponse:
    gallery = selectors.gallery_get_for_owner(owner=request.user, gallery_uuid=gallery_uuid)
    form = GalleryOptionsForm(request.POST or None, initial=GalleryOptionsForm.initial_for(gallery))
    if request.method == "POST" and form.is_valid():
        try:
            services.gallery_update(gallery=gallery, **form.service_values())
        except ValidationError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, "Gallery saved.")
            return redirect("sessions:gallery_detail", gallery_uuid=gallery.uuid)
    return render(request, "galleries/gallery_form.html", {"form": form, "session": gallery.session, "gallery": gallery})


@login_required
@require_POST
def gallery_arrange(request: HttpRequest, gallery_uuid) -> HttpResponse:
    gallery = selectors.gallery_get_for_owner(owner=request.user, gallery_uuid=gallery_uuid)
    order = [k for k in request.POST.get("order", "").split(",") if k] or request.POST.getlist("item")
    try:
        services.gallery_arrange(gallery=gallery, order=order, cover=request.POST.get("cover") or None)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    if request.headers.get("Accept", "").startswith("application/json"):
        return HttpResponse(status=204)
    return redirect("sessions:gallery_detail", gallery_uuid=gallery.uuid)


@login_required
@require_POST
def gallery_revoke(request: HttpRequest, gallery_uuid) -> HttpResponse:
    gallery = selectors.gallery_get_for_owner(owner=request.user, gallery_uuid=gallery_uuid)
    services.gallery_revoke(gallery=gallery)
    messages.success(request, "The link is switched off. Re-open it at any time.")
    return redirect("sessions:gallery_detail", gallery_uuid=gallery.uuid)


@login_required
@require_POST
def gallery_reopen(request: HttpRequest, gallery_uuid) -> HttpResponse:
    gallery = selectors.gallery_get_for_owner(owner=request.user, gallery_uuid=gallery_uuid)
    services.gallery_reopen(gallery=gallery)
    messages.success(request, "The link works again.")
    return redirect("sessions:gallery_detail", gallery_uuid=gallery.uuid)


@login_required
@require_POST
def gallery_send(request: HttpRequest, gallery_uuid) -> HttpResponse:
    gallery = selectors.gallery_get_for_owner(owner=request.user, gallery_uuid=gallery_uuid)
    form = SendLinkForm(request.POST)
    if form.is_valid():
        try:
            services.gallery_send_link(gallery=gallery, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
        else:
            messages.success(request, f"Link sent to {form.cleaned_data['to']}.")
    else:
        messages.error(request, "Give an email address to send the link to.")
    return redirect("sessions:gallery_detail", gallery_uuid=gallery.uuid)


@login_required
@require_POST
def gallery_previews(request: HttpRequest, gallery_uuid) -> HttpResponse:
    gallery = selectors.gallery_get_for_owner(owner=request.user, gallery_uuid=gallery_uuid)
    services.gallery_previews_enqueue(gallery=gallery)
    messages.info(request, "Making the missing previews.")
    return redirect("sessions:gallery_detail", gallery_uuid=gallery.uuid)


@login_required
@require_POST
def selection_action(request: HttpRequest, gallery_uuid, selection_uuid, action: str) -> HttpResponse:
    gallery = selectors.gallery_get_for_owner(owner=request.user, gallery_uuid=gallery_uuid)
    selection = selectors.selection_get_for_owner(owner=request.user, gallery=gallery, selection_uuid=selection_uuid)
    if action == "reopen":
        selection_reopen(selection=selection)
        messages.success(request, f"{selection.name} can change their selection again.")
    elif action == "seen":
        selection_mark_seen(selection=selection)
    else:
        raise Http404("No such action.")
    return redirect("sessions:gallery_detail", gallery_uuid=gallery.uuid)


@login_required
@require_GET
def gallery_export(request: HttpRequest, gallery_uuid, fmt: str) -> HttpResponse:
    """The picks (everyone's, or one guest's with ?guest=<uuid>) as CSV or a ZIP of XMP sidecars."""
    gallery = selectors.gallery_get_for_owner(owner=request.user, gallery_uuid=gallery_uuid)
    if fmt not in EXPORT_FORMATS:
        raise Http404("No such export.")
    only = (selectors.selection_get_for_owner(owner=request.user, gallery=gallery, selection_uuid=request.GET["guest"])
            if request.GET.get("guest") else None)
    picks = selectors.gallery_selections(gallery=gallery, only=only).combined
    stem = f"{slugify(gallery.title)[:60] or 'gallery'}-picks" + (f"-{slugify(only.name)[:30]}" if only else "")
    if fmt == "csv":
        text = io.StringIO()
        exports.write_picks_csv(picks, text)
        response = HttpResponse(text.getvalue().encode("utf-8-sig"), content_type="text/csv; charset=utf-8")
        name = f"{stem}.csv"
    else:
        buf = io.BytesIO()
        exports.write_picks_xmp_zip(picks, buf, options=exports.pick_options(gallery, naming=_naming(request)))
        response = HttpResponse(buf.getvalue(), content_type="application/zip")
        name = f"{stem}-xmp.zip"
    response["Content-Disposition"] = content_disposition_header(True, name)
    patch_cache_control(response, private=True, no_store=True)  # guests' names and emails: never kept in a cache
    return response


def _naming(request: HttpRequest) -> str:
    from review.exports.options import NAMING_BASENAME, NAMINGS

    naming = request.GET.get("naming", NAMING_BASENAME)
    return naming if naming in NAMINGS else NAMING_BASENAME

