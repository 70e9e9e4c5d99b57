"""Two response rules every page shares: photographer pages are never cached, and error pages are ours.

* Pages for a logged-in photographer carry `Cache-Control: no-store`: Back/Forward after a correction must
  fetch the page again (and so show the correction), never replay a stale copy from the browser's cache.
* Django's debug 404/500 pages list every URL pattern and settings; `DEBUG` defaults to on for the embedded
  first run, where another person may open a link. So HTML 404/500 answers get our friendly templates
  unless `EYESPY_DEBUG_PAGES` is on (a developer who wants the yellow pages asks for them).
"""
from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

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
