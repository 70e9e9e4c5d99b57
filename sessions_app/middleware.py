"""Readable answers for upload requests whose body Django refuses to parse (and, below, ReviewTruthMiddleware).

Why a middleware: the CSRF check reads request.POST before the upload view runs, so a body with more
than DATA_UPLOAD_MAX_NUMBER_FILES files, or a part header over Django's 1 KB limit (a file name of ~1000
characters), ends as a bare "400 Bad Request" page the view never sees; upload.js could only say
"HTTP 400". This parses the upload's body first (only on the upload URL) and answers like the view
does: JSON {"ok": false, "error": ...} for upload.js, or the session page with the reason for the
plain form. Nothing is stored on these paths, so answering before the CSRF check changes nothing.
"""
from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import RequestDataTooBig, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import redirect
from django.template.loader import render_to_string

UPLOAD_VIEW = "sessions:upload"


def body_error_reason(exc: Exception) -> str:
    if isinstance(exc, TooManyFilesSent):
        return (f"Too many files for one plain upload (at most {settings.DATA_UPLOAD_MAX_NUMBER_FILES}). "
                "Turn on JavaScript for bulk upload, or send them in smaller batches.")
    if isinstance(exc, RequestDataTooBig):
        return "The form's fields are too large; upload the photos again."
    if "header size" in str(exc):
        return "file name too long (rename the file to fewer than about 200 characters and upload it again)"
    return f"the upload could not be read ({exc}); try again"


class UploadBodyErrorsMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if request.method != "POST" or match is None or match.view_name != UPLOAD_VIEW:
            return None
        try:
            request.POST  # noqa: B018 - parse now, where the failure can be answered
        except (TooManyFilesSent, RequestDataTooBig, MultiPartParserError) as exc:
            reason = body_error_reason(exc)
            if request.headers.get("Accept", "").startswith("application/json"):
                return JsonResponse({"ok": False, "error": reason}, status=400)
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            messages.error(request, reason[0].upper() + reason[1:])
            return redirect("sessions:detail", session_uuid=view_kwargs["session_uuid"])
        return None


# --- Always-true pages and friendly errors (ReviewTruthMiddleware) -------------------------------------
# * Pages for a logged-in photographer carry `Cache-Control: no-store`: Back/Forward after a correction must
#   fetch the page again (and so show the correction), never replay a stale copy from the browser's cache.
# * Django's debug 404/500 pages list every URL pattern and settings; `DEBUG` defaults to on for the embedded
#   first run, where another person may open a link. So HTML 404/500 answers get our friendly templates
#   unless `EYESPY_DEBUG_PAGES` is on (a developer who wants the yellow pages asks for them).

logger = logging.getLogger(__name__)

_FRIENDLY = {404: "404.html", 500: "500.html"}


class ReviewTruthMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        is_html = response.get("Content-Type", "").startswith("text/html")
        if is_html and response.status_code in _FRIENDLY and settings.DEBUG and not settings.EYESPY_DEBUG_PAGES:
            response = self._friendly(request, response.status_code)
        user = getattr(request, "user", None)
        if is_html and user is not None and user.is_authenticated and "Cache-Control" not in response:
            response["Cache-Control"] = "no-store"
        return response

    @staticmethod
    def _friendly(request: HttpRequest, status: int) -> HttpResponse:
        try:
            body = render_to_string(_FRIENDLY[status], {"request_path": request.path}, request=request)
        except Exception:  # noqa: BLE001 - an error page must never fail in turn
            logger.exception("could not render the %s page", status)
            body = "<!doctype html><title>Error</title><h1>Something went wrong</h1>"
        return HttpResponse(body, status=status, content_type="text/html; charset=utf-8")
