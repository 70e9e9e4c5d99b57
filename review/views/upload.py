"""Photo upload: one file per request from upload.js (JSON), or many files from the plain form (no JS).

JSON answers: 201 {"ok": true, "photo": uuid, "duplicate": false, "paired": false}, 200 for a duplicate (nothing
stored); "paired": true when the file joined its RAW or JPEG twin (same base name) as one photo;
413/422 {"ok": false, "error": reason} for a rejected file, 400 for a malformed request, 401/404 as usual.

With S3 storage upload.js sends the bytes straight to the bucket instead (sessions_app.services.direct_uploads):
`upload/direct/` answers {"ok": true, "url", "fields", "ticket"} (or a duplicate's answer, nothing to send),
the browser POSTs the file to `url`, then `upload/direct/done/` with the ticket answers like an upload here.
"""
from __future__ import annotations

import json

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from classifier import services as classifier_services
from sessions_app import services
from sessions_app.middleware import upload_gate, wants_json

REJECTIONS_LISTED = 10  # in the no-JS flash message
_STATUS = {"too_large": 413, "throttled": 429}


def _error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"ok": False, "error": message}, status=status)


def _rejected(exc: services.UploadRejected) -> JsonResponse:
    return _error(exc.reason, _STATUS.get(exc.code, 422))


def _uploaded(result: services.UploadResult) -> JsonResponse:
    body = {"ok": True, "photo": str(result.photo.uuid), "duplicate": result.duplicate, "paired": result.paired}
    return JsonResponse(body, status=200 if result.duplicate else 201)


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
        return _rejected(exc)
    return _uploaded(result)


def _direct_request(request: HttpRequest, session_uuid):
    """(session, JSON body) of a direct-upload call, or the answer refusing it."""
    session = upload_gate(request, session_uuid)
    if isinstance(session, HttpResponse):
        return session
    if not services.direct_uploads_enabled():
        return _error("Uploads go through the app here.", 404)
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        return _error("Send a JSON object.", 400)
    return session, body


@require_POST
def session_upload_direct(request: HttpRequest, session_uuid) -> HttpResponse:
    """Step 1 of a direct upload: a presigned POST for one file (or "duplicate": nothing to send)."""
    checked = _direct_request(request, session_uuid)
    if isinstance(checked, HttpResponse):
        return checked
    session, body = checked
    try:
        answer = services.direct_upload_start(session=session, filename=str(body.get("name") or ""),
                                              size=body.get("size"), sha256=str(body.get("sha256") or ""))
    except services.UploadRejected as exc:
        return _rejected(exc)
    if isinstance(answer, services.UploadResult):
        return _uploaded(answer)
    return JsonResponse({"ok": True, "url": answer.url, "fields": answer.fields, "ticket": answer.ticket})


@require_POST
def session_upload_direct_done(request: HttpRequest, session_uuid) -> HttpResponse:
    """Step 3 of a direct upload: the file is in the bucket; check it and record the photo (queued)."""
    checked = _direct_request(request, session_uuid)
    if isinstance(checked, HttpResponse):
        return checked
    session, body = checked
    try:
        result = classifier_services.photo_upload_direct(session=session, ticket=str(body.get("ticket") or ""))
    except services.DirectUploadTicketError as exc:
        return _error(exc.reason, 400)
    except services.UploadRejected as exc:
        return _rejected(exc)
    return _uploaded(result)


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
