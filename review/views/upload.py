"""Photo upload: one file per request from upload.js (JSON), or many files from the plain form (no JS).

JSON answers: 201 {"ok": true, "photo": uuid, "duplicate": false, "paired": false}, 200 for a duplicate (nothing
stored); "paired": true when the file joined its RAW or JPEG twin (same base name) as one photo;
413/422 {"ok": false, "error": reason} for a rejected file, 400 for a malformed request, 401/404 as usual.
"""
from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from classifier import services as classifier_services
from sessions_app import services
from sessions_app.middleware import upload_gate, wants_json

REJECTIONS_LISTED = 10  # in the no-JS flash message


def _error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"ok": False, "error": message}, status=status)


@require_POST
def session_upload(request: HttpRequest, session_uuid) -> HttpResponse:
    # Anonymous, foreign and oversized requests were refused unread by sessions_app/middleware.py.
    session = upload_gate(request, session_uuid)
    if isinstance(session, HttpResponse):
        return session
    if wants_json(request):
        return _upload_one(request, session)
    return _upload_many(request, session)


def _upload_one(request: HttpRequest, session) -> JsonResponse:
    files = request.FILES.getlist("file")
    if len(files) != 1:
        return _error("Send exactly one file per request, in the form field 'file'.", 400)
    upload = files[0]
    try:
        result = classifier_services.photo_upload(session=session, fileobj=upload, filename=upload.name)
    except services.UploadRejected as exc:
        return _error(exc.reason, 413 if exc.code == "too_large" else 422)
    body = {"ok": True, "photo": str(result.photo.uuid), "duplicate": result.duplicate, "paired": result.paired}
    return JsonResponse(body, status=200 if result.duplicate else 201)


def _upload_many(request: HttpRequest, session) -> HttpResponse:
    # Bodies Django can't parse (too many files, a huge file name) were answered by
    # sessions_app/middleware.py before the CSRF check read them.
    files = request.FILES.getlist("file")
    if not files:
        messages.error(request, "Choose one or more photos to upload.")
        return redirect("sessions:detail", session_uuid=session.uuid)
    imported, duplicates, rejected = 0, 0, []
    for upload in files:
        try:
            result = classifier_services.photo_upload(session=session, fileobj=upload, filename=upload.name)
        except services.UploadRejected as exc:
            rejected.append(f"{services.clean_filename(upload.name)}: {exc.reason}")
        else:
            duplicates += result.duplicate
            imported += not result.duplicate
    # The same wording as the JavaScript uploader: "38 uploaded · 1 duplicate skipped · 3 rejected".
    parts = [f"{imported} uploaded"]
    if duplicates:
        parts.append(f"{duplicates} duplicate{'s' if duplicates != 1 else ''} skipped")
    if rejected:
        parts.append(f"{len(rejected)} rejected")
    messages.success(request, " · ".join(parts))
    if rejected:
        shown = "; ".join(rejected[:REJECTIONS_LISTED])
        more = f" (and {len(rejected) - REJECTIONS_LISTED} more)" if len(rejected) > REJECTIONS_LISTED else ""
        messages.error(request, f"Rejected {len(rejected)}: {shown}{more}")
    return redirect("sessions:detail", session_uuid=session.uuid)
