"""Photographer media: originals, previews, thumbnails and eye crops, only to their owner.

Locally the file is streamed (FileResponse); on S3 the browser is redirected to a short-lived signed URL.
Nothing under the media folder has a public URL.
"""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.files.storage import Storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from classifier import selectors as review

from .. import media_names, selectors
from ..models import Photo

FILE_MAX_AGE = 3600  # private browser cache only; the names never change for a given photo
REDIRECT_MAX_AGE = 60  # well inside the signed URL's expiry


def serve_stored_file(
    storage: Storage, name: str, *, content_type: str | None = None, filename: str | None = None,
    as_attachment: bool = False,
) -> HttpResponse:
    """The response for one stored file, to be returned only after the caller has checked ownership.

    Local storage streams the file (FileResponse); remote storage (S3) redirects to a signed URL that
    expires soon, never a public one. Either way the response may be cached only privately by the browser.
    `filename` names a download (`as_attachment`) or an inline file; it is quoted and encoded by
    Django's `content_disposition_header`, so a quote or an accent in a photographer's file name can't
    break the header. An empty `name` (not made yet) or a file gone from storage is a 404.
    """
    if not name:
        raise Http404("Not available yet.")
    try:
        local_path = storage.path(name)
    except NotImplementedError:
        disposition = content_disposition_header(True, filename) if as_attachment and filename else None
        params = {"ResponseContentDisposition": disposition} if disposition else None
        try:
            url = storage.url(name, parameters=params) if params else storage.url(name)
        except TypeError:  # a remote storage without per-URL parameters
            url = storage.url(name)
        response: HttpResponse = HttpResponseRedirect(url)
        max_age = REDIRECT_MAX_AGE
    else:
        try:
            fh = open(local_path, "rb")  # noqa: SIM115 - FileResponse closes it
        except FileNotFoundError:
            raise Http404("File missing from storage.") from None
        # FileResponse builds Content-Disposition with the same content_disposition_header.
        response = FileResponse(fh, content_type=content_type, filename=filename or "", as_attachment=as_attachment)
        max_age = FILE_MAX_AGE
    patch_cache_control(response, private=True, max_age=max_age)
    patch_vary_headers(response, ["Cookie"])
    return response


@login_required
@require_GET
def photo_thumbnail(request: HttpRequest, photo_uuid) -> HttpResponse:
    photo = selectors.photo_get_for_owner(owner=request.user, photo_uuid=photo_uuid)
    return serve_stored_file(photo.thumbnail.storage, photo.thumbnail.name, content_type="image/jpeg")


@login_required
@require_GET
def photo_preview(request: HttpRequest, photo_uuid) -> HttpResponse:
    photo = selectors.photo_get_for_owner(owner=request.user, photo_uuid=photo_uuid)
    return serve_stored_file(photo.preview.storage, photo.preview.name, content_type="image/jpeg")


@login_required
@require_GET
def photo_original(request: HttpRequest, photo_uuid) -> HttpResponse:
    photo = selectors.photo_get_for_owner(owner=request.user, photo_uuid=photo_uuid)
    download = request.GET.get("download") == "1"
    return serve_stored_file(
        photo.original.storage, photo.original.name, content_type=photo.content_type,
        filename=photo.original_filename, as_attachment=download,
    )


def _eye_crop_name(photo: Photo, face: int, side: str) -> str:
    # The same prediction the review screen and the zoom use (the live model's, else the newest).
    faces = review.photo_stored_faces(photo=photo).faces
    if not 0 <= face < len(faces):
        raise Http404("No such face.")
    for eye in faces[face].get("eyes") or []:
        if isinstance(eye, dict) and eye.get("side") == side:
            # Stored JSON names a file; only one of the photo's own files may be served.
            name = media_names.eye_crop_name(photo_uuid=photo.uuid, eye=eye)
            if name:
                return name
    raise Http404("No crop for that eye.")


@login_required
@require_GET
def photo_eye_crop(request: HttpRequest, photo_uuid, face: int, side: str) -> HttpResponse:
    photo = selectors.photo_get_for_owner(owner=request.user, photo_uuid=photo_uuid)
    if side not in ("left", "right"):
        raise Http404("Side is left or right.")
    return serve_stored_file(photo.original.storage, _eye_crop_name(photo, face, side), content_type="image/png")
