"""Photographer media: originals, previews, thumbnails and eye crops, only to their owner.

Locally the file is streamed (FileResponse); on S3 the browser is redirected to a short-lived signed URL
(sessions_app.shortcuts.serve_stored_file, which the exports and the galleries serve their files with too).
Nothing under the media folder has a public URL.
"""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from sessions_app import media_names, selectors
from sessions_app.models import Photo
from sessions_app.shortcuts import serve_stored_file

from .. import selectors as review


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
