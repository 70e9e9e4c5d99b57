"""The review screen: three groups, corrections in one keystroke, the strictness slider, the lightbox.

Every mutation is a POST that works as a plain form (redirect back to the card) and, when htmx or
review.js sends it (HX-Request), answers with the updated card(s) plus out-of-band swaps for the
group counts and the agreement line — no page reload.
"""
from __future__ import annotations

import uuid

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET, require_POST

from classifier.services import ZoomUnavailable, eye_zoom_request
from sessions_app import selectors
from sessions_app.models import Photo, PhotoSession
from sessions_app.shortcuts import is_htmx, render_no_store, serve_stored_file

from .. import selectors as review
from .. import vocabulary
from ..services import (
    CorrectionError,
    correction_create,
    correction_undo,
    corrections_bulk_create,
    corrections_undo,
    decision_words,
    session_undo_last,
)

BULK_MAX = 1000


class StrictnessForm(forms.Form):
    strictness = forms.FloatField(min_value=0.0, max_value=1.0)


class BulkForm(forms.Form):
    action = forms.ChoiceField(choices=[("BLINKING", "Blinking"), ("NOT_BLINKING", "Keep"), ("NO_FACE", "No face"),
                                        ("undo", "Undo")])

    def photo_uuids(self) -> list[uuid.UUID]:
        """The selected photos' UUIDs (malformed ones dropped; ownership is checked by the caller)."""
        out = []
        for raw in self.data.getlist("photos")[:BULK_MAX]:
            try:
                out.append(uuid.UUID(str(raw)))
            except ValueError:
                continue
        return out


def _review_url(session: PhotoSession, *, sort: str = "", anchor: str = "") -> str:
    url = reverse("sessions:review", args=[session.uuid])
    if sort in review.SORTS and sort != review.SORT_CONFIDENCE:
        url += f"?sort={sort}"
    return url + (f"#{anchor}" if anchor else "")


def _back(request: HttpRequest, session: PhotoSession, anchor: str = "") -> HttpResponse:
    """Without JavaScript: back to the review page, same sort, scrolled to the card."""
    return redirect(_review_url(session, sort=request.POST.get("sort", ""), anchor=anchor))


def _cards_response(request: HttpRequest, session: PhotoSession, photos: list[Photo], *, oob: bool,
                    status: str = "") -> HttpResponse:
    """The updated card(s), with the counts, the agreement and `status` (what happened) swapped in out of band.

    Only the changed photos are judged again; the counts come from the session's outcomes, whose machine
    part is cached (a correction never re-judges the rest of the session).
    """
    summary = review.session_summary(session=session)
    cards = [card for photo in photos if (card := review.photo_card(photo=photo)) is not None]
    context = {
        "session": session,
        "counts": summary.counts,
        "group_counts": summary.group_counts,
        "cards": cards,
        "oob": oob,
        "agreement": summary.agreement,
        "sort": request.POST.get("sort", ""),
        "status": status,
    }
    return render_no_store(request, "sessions_app/_review_update.html", context)


def _card_changed(request: HttpRequest, photo: Photo, status: str = "") -> HttpResponse:
    """After a change to one photo: its new card for htmx, else back to the card on the review page."""
    if is_htmx(request):
        # review.js asks for every part out of band (its queued requests can't hold on to a target element).
        return _cards_response(request, photo.session, [photo], oob=request.POST.get("swap") == "oob", status=status)
    if status:
        messages.info(request, status)
    return _back(request, photo.session, anchor=f"card-{photo.uuid}")


@login_required
@require_GET
def review_page(request: HttpRequest, session_uuid) -> HttpResponse:
    session = selectors.session_get_for_owner(owner=request.user, session_uuid=session_uuid)
    sort = request.GET.get("sort", review.SORT_CONFIDENCE)
    groups = review.session_groups(session=session, sort=sort)
    summary = review.session_summary(session=session)  # the counts every page shows, from one source
    preview_form = StrictnessForm(request.GET if "strictness" in request.GET else None)
    preview = (
        review.strictness_preview(session=session, strictness=preview_form.cleaned_data["strictness"])
        if preview_form.is_bound and preview_form.is_valid() else None
    )
    context = {
        "session": session,
        "groups": groups,
        "counts": summary.counts,
        "sort": groups.sort,
        "sorts": review.SORTS,
        "agreement": summary.agreement,
        "preview": preview,
        "slider_value": preview.strictness if preview else session.strictness,
        "review_keys": vocabulary.key_table(),  # review.js reads it from the page
        "check_sliders": vocabulary.check_sliders(session),
        "key_help": vocabulary.key_help(),
    }
    return render(request, "sessions_app/review.html", context)


def _photo_for_review(request: HttpRequest, photo_uuid) -> Photo:
    return selectors.photo_get_for_owner(owner=request.user, photo_uuid=photo_uuid)


@login_required
@require_POST
def photo_correct(request: HttpRequest, photo_uuid) -> HttpResponse:
    """Mark one photo (or, with `face`, one of its faces): `label` BLINKING / NOT_BLINKING / NO_FACE, or
    `flag` (a check's key, or "" for the whole photo) with `value` (flagged / clear; keep / reject / no_face),
    or both in one `decision` ("focus:clear", ":keep") as the card's buttons send them."""
    photo = _photo_for_review(request, photo_uuid)
    face = request.POST.get("face", "")
    flag, value = request.POST.get("flag"), request.POST.get("value", "")
    if "decision" in request.POST:  # a card's or the loupe's button: "check:value", or ":keep" for the whole photo
        flag, _, value = request.POST["decision"].partition(":")
    try:
        face_index = int(face) if face != "" else None
        correction_create(photo=photo, label=request.POST.get("label", ""), by=request.user, face_index=face_index,
                          flag=flag, value=value)
    except ValueError:
        return _refuse(request, photo.session, "face must be a number")
    except CorrectionError as exc:
        return _refuse(request, photo.session, exc.reason)
    return _card_changed(request, photo)


@login_required
@require_POST
def photo_undo(request: HttpRequest, photo_uuid) -> HttpResponse:
    """The card's own Undo: takes back this photo's latest correction, and says so."""
    photo = _photo_for_review(request, photo_uuid)
    undo = correction_undo(photo=photo, by=request.user)
    if undo is None:
        return _card_changed(request, photo, f"Nothing to undo on {photo.original_filename}.")
    target = f"face {undo.face_index + 1} of " if undo.face_index is not None else ""
    return _card_changed(request, photo, f"Undone on {target}{photo.original_filename}: it is "
                                         f"{decision_words(undo).lower()} again.")


@login_required
@require_POST
def session_undo(request: HttpRequest, session_uuid) -> HttpResponse:
    """U / Ctrl+Z: undo the last change you made in this session (one photo, a face, or a whole bulk
    change), from the server's history, so it works the same after a reload."""
    session = selectors.session_get_for_owner(owner=request.user, session_uuid=session_uuid)
    result = session_undo_last(session=session, by=request.user)
    if result is None:
        status, photos = "Nothing left to undo: every change you made here is undone.", []
    else:
        status, photos = result.message, list(session.photos.filter(id__in=result.photo_ids))
    if not is_htmx(request):
        messages.info(request, status)
        return _back(request, session)
    for photo in photos:
        photo.session = session
    return _cards_response(request, session, photos, oob=True, status=status)


@login_required
@require_POST
def review_bulk(request: HttpRequest, session_uuid) -> HttpResponse:
    """Mark or undo many selected photos at once (shift+B / shift+K / U after a bulk change)."""
    session = selectors.session_get_for_owner(owner=request.user, session_uuid=session_uuid)
    form = BulkForm(request.POST)
    # Only this session's photos count: anything else in the list (another photographer's) is ignored.
    photos = list(session.photos.filter(uuid__in=form.photo_uuids())) if form.is_valid() else []
    if not photos:
        return _refuse(request, session, "select some photos, then choose what they are")
    if form.cleaned_data["action"] == "undo":
        changed = [c.photo_id for c in corrections_undo(photos=photos, by=request.user)]
    else:
        changed = [c.photo_id for c in corrections_bulk_create(photos=photos, label=form.cleaned_data["action"],
                                                               by=request.user)]
    if is_htmx(request):
        for photo in photos:
            photo.session = session  # cards read the session's strictness; no query per photo
        return _cards_response(request, session, photos, oob=True)
    messages.success(request, f"Updated {len(changed)} photo{'s' if len(changed) != 1 else ''}.")
    return _back(request, session)


def _refuse(request: HttpRequest, session: PhotoSession, reason: str) -> HttpResponse:
    if is_htmx(request):
        return HttpResponse(reason, status=400, content_type="text/plain; charset=utf-8")
    messages.error(request, reason[:1].upper() + reason[1:])
    return _back(request, session)


@login_required
@require_GET
def strictness_preview(request: HttpRequest, session_uuid) -> HttpResponse:
    """How many photos a new strictness would move (the slider asks while it is dragged)."""
    session = selectors.session_get_for_owner(owner=request.user, session_uuid=session_uuid)
    form = StrictnessForm(request.GET)
    if not form.is_valid():
        return HttpResponse("Strictness is a number from 0 to 1.", status=400, content_type="text/plain")
    preview = review.strictness_preview(session=session, strictness=form.cleaned_data["strictness"])
    return render(request, "sessions_app/_strictness_preview.html", {"session": session, "preview": preview})


@login_required
@require_POST
def strictness_apply(request: HttpRequest, session_uuid) -> HttpResponse:
    session = selectors.session_get_for_owner(owner=request.user, session_uuid=session_uuid)
    form = StrictnessForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Strictness is a number from 0 (lenient) to 1 (strict).")
        return redirect(_review_url(session))
    preview = review.strictness_preview(session=session, strictness=form.cleaned_data["strictness"])
    # A single field the form has validated: the view assigns and saves just that (no service needed).
    session.strictness = preview.strictness
    session.save(update_fields=["strictness", "updated_at"])
    messages.success(request, f"Strictness set to {preview.strictness:.2f}. {preview.sentence}")
    return redirect(_review_url(session, sort=request.POST.get("sort", "")))


@login_required
@require_POST
def check_strictness_apply(request: HttpRequest, session_uuid, key: str) -> HttpResponse:
    """One check's own slider (every check but the eyes, whose slider is the one above)."""
    session = selectors.session_get_for_owner(owner=request.user, session_uuid=session_uuid)
    form = StrictnessForm(request.POST)
    title = vocabulary.check_titles().get(key)
    if title is None or key == vocabulary.EYES or not form.is_valid():
        messages.error(request, "Strictness is a number from 0 (lenient) to 1 (strict), for a check this server has.")
        return redirect(_review_url(session))
    session.check_strictness = {**(session.check_strictness or {}), key: form.cleaned_data["strictness"]}
    session.save(update_fields=["check_strictness", "updated_at"])  # one validated field, as the eyes' slider
    messages.success(request, f"{title}: strictness set to {form.cleaned_data['strictness']:.2f}.")
    return redirect(_review_url(session, sort=request.POST.get("sort", "")))


@login_required
@require_GET
def photo_lightbox(request: HttpRequest, photo_uuid) -> HttpResponse:
    """The preview with the faces marked and each face's eyes at 100% (partial for htmx, else a page).

    The page version links to the previous/next photo in the review's order (same sort), so its
    arrow keys and Esc do what the hint says.
    """
    photo = _photo_for_review(request, photo_uuid)
    sort = request.GET.get("sort", "")
    if is_htmx(request):
        card = review.photo_card(photo=photo)
        if card is None:
            raise Http404("This photo is still being processed.")
        return render(request, "sessions_app/_lightbox.html", {"card": card, "session": photo.session, "sort": sort})
    return render(request, "sessions_app/lightbox.html", _lightbox_page_context(photo, sort))


def _lightbox_page_context(photo: Photo, sort: str) -> dict:
    """This photo's card and its neighbours in the review's order (read from the outcomes: no other cards)."""
    session = photo.session
    sort = sort if sort in review.SORTS else review.SORT_CONFIDENCE
    where = review.session_neighbours(session=session, photo_id=photo.id, sort=sort)
    card = review.photo_card(photo=photo) if where is not None else None
    if card is None:
        raise Http404("This photo is still being processed.")
    query = f"?sort={sort}" if sort != review.SORT_CONFIDENCE else ""

    def url(photo_uuid) -> str:
        return reverse("sessions:photo_lightbox", args=[photo_uuid]) + query if photo_uuid else ""

    return {
        "card": card,
        "session": session,
        "sort": sort,
        "standalone": True,
        "prev_url": url(where.prev_uuid),
        "next_url": url(where.next_uuid),
        "position": where.position,
        "count": where.count,
        "back_url": _review_url(session, sort=sort, anchor=f"card-{photo.uuid}"),
    }


ZOOM_PENDING_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="320" height="96" viewBox="0 0 320 96">'
    '<rect width="320" height="96" fill="#1f2329"/><text x="160" y="54" fill="#c9ced6" font-family="sans-serif" '
    'font-size="15" text-anchor="middle">Preparing the 100 % view…</text></svg>'
)


@login_required
@require_GET
def photo_zoom(request: HttpRequest, photo_uuid, face: int) -> HttpResponse:
    """A JPEG of one face's eyes cropped from the original at 100% — or, while a worker cuts it, 202 with a
    placeholder (zoom.js asks again until it is there)."""
    photo = _photo_for_review(request, photo_uuid)
    stored = review.photo_stored_faces(photo=photo)
    if photo.status != Photo.Status.DONE or not 0 <= face < len(stored.faces):
        raise Http404("No such face.")
    try:
        zoom = eye_zoom_request(photo=photo, face=stored.faces[face], face_index=face,
                                model_version_id=stored.model_version_id)
    except ZoomUnavailable as exc:
        raise Http404(exc.reason) from None
    if zoom.pending:
        response = HttpResponse(ZOOM_PENDING_SVG, status=202, content_type="image/svg+xml")
        response["Retry-After"] = "1"
        add_never_cache_headers(response)
        return response
    return serve_stored_file(photo.original.storage, zoom.name, content_type="image/jpeg")
