"""The upload request before anything reads its body (UploadGateMiddleware), and, below, ReviewTruthMiddleware.

Why a middleware: the CSRF check reads request.POST before the upload view runs. So, on the upload URL
only, in this order and before any of the body is read:

1. Who and how much: an anonymous request (401 / the login page), a session that isn't the
   photographer's (404), or a declared body over the limit (413: EYESPY_MAX_UPLOAD_MB for one file from
   upload.js, EYESPY_MAX_FORM_UPLOAD_MB for the plain form) are answered from the headers alone. A
   stranger can't make the server spool 260 MB to disk to be told no. (Over the limit, the refusal is
   also kept on the session page.) The web server then drops the unread rest (bin/run's server reads
   at most 1 MB of it, sessions_app/management/commands/serve_local.py; in production the proxy's body
   limit comes first: README "Production").
2. Bodies Django refuses to parse (more than DATA_UPLOAD_MAX_NUMBER_FILES files, a part header over
   Django's 1 KB limit: a file name of ~1000 characters) would end as a bare "400 Bad Request" page the
   view never sees. They are parsed here and answered like the view does (JSON {"ok": false, "error"}
   for upload.js, the session page with the reason for the plain form), and kept on the session page
   like any refused file. Nothing is stored on these paths, so answering before the CSRF check changes
   nothing.
"""
from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import RequestDataTooBig, TooManyFilesSent
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import redirect
from django.template.loader import render_to_string

UPLOAD_VIEW = "sessions:upload"
MULTIPART_OVERHEAD = 64 * 1024  # the form's boundaries and fields around one file


def body_error_reason(exc: Exception) -> str:
    if isinstance(exc, TooManyFilesSent):
        return (f"Too many files for one plain upload (at most {settings.DATA_UPLOAD_MAX_NUMBER_FILES}). "
                "Turn on JavaScript for bulk upload, or send them in smaller batches.")
    if isinstance(exc, RequestDataTooBig):
        return "The form's fields are too large; upload the photos again."
    if "header size" in str(exc):
        return "file name too long (rename the file to fewer than about 200 characters and upload it again)"
    return f"the upload could not be read ({exc}); try again"


def wants_json(request: HttpRequest) -> bool:
    return request.headers.get("Accept", "").startswith("application/json")


def upload_body_limit(*, as_json: bool) -> int:
    """The most an upload request may declare: one file (upload.js) or the plain form's many."""
    if as_json:
        return settings.EYESPY_MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD
    return settings.EYESPY_MAX_FORM_UPLOAD_BYTES


def _declared_length(request: HttpRequest) -> int:
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


def _mb(n: int) -> str:
    return f"{n // (1024 * 1024)} MB"


def upload_gate(request: HttpRequest, session_uuid) -> "PhotoSession | HttpResponse":
    """The photographer's session this upload goes to, or the answer refusing it, from headers alone.
    The middleware and the view both ask (the view keeps its own check); the lookup is cached per request."""
    from . import selectors  # the app's modules load after the middleware list

    cached = getattr(request, "_eyespy_upload_session", None)
    if cached is not None:
        return cached
    as_json = wants_json(request)
    if not request.user.is_authenticated:
        if as_json:
            return JsonResponse({"ok": False, "error": "Your login has expired. Log in again in another tab, "
                                 "then retry."}, status=401)
        return redirect_to_login(request.get_full_path())
    try:
        session = selectors.session_get_for_owner(owner=request.user, session_uuid=session_uuid)
    except Http404:
        if as_json:
            return JsonResponse({"ok": False, "error": "This session doesn't exist (it may have been deleted)."},
                                status=404)
        raise
    request._eyespy_upload_session = session
    return session


class UploadGateMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if request.method != "POST" or match is None or match.view_name != UPLOAD_VIEW:
            return None
        session = upload_gate(request, view_kwargs["session_uuid"])
        if isinstance(session, HttpResponse):
            return session
        as_json = wants_json(request)
        declared, limit = _declared_length(request), upload_body_limit(as_json=as_json)
        if declared > limit:
            shown = limit - MULTIPART_OVERHEAD if as_json else limit
            reason = (f"file too large ({_mb(declared)}; limit {_mb(shown)})" if as_json else
                      f"upload too large ({_mb(declared)}; limit {_mb(shown)}): send fewer photos at a time, "
                      "or turn on JavaScript")
            return self._refuse(request, session, reason, status=413, size=declared, as_json=as_json)
        try:
            request.POST  # noqa: B018 - parse now, where the failure can be answered
        except (TooManyFilesSent, RequestDataTooBig, MultiPartParserError) as exc:
            return self._refuse(request, session, body_error_reason(exc), status=400, size=declared, as_json=as_json)
        return None

    @staticmethod
    def _refuse(request: HttpRequest, session, reason: str, *, status: int, size: int, as_json: bool) -> HttpResponse:
        from . import services

        services.rejected_upload_record(session=session, filename="(the whole upload)", reason=reason, size=size)
        if as_json:
            return JsonResponse({"ok": False, "error": reason}, status=status)
        messages.error(request, reason[0].upper() + reason[1:])
        return redirect("sessions:detail", session_uuid=session.uuid)


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
