"""Small helpers every app's views share (like django.shortcuts, for this project's habits): htmx partials,
a form handed to a service, and a stored file served only after the caller checked who may see it."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.storage import Storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.http import content_disposition_header

T = TypeVar("T")

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


def is_htmx(request: HttpRequest) -> bool:
    """Sent by htmx (or review.js): answer with a partial instead of a redirect or a whole page."""
    return request.headers.get("HX-Request") == "true"


def render_no_store(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    """A partial that is polled or swapped in: the browser must never answer it from its cache."""
    response = render(request, template, context)
    response["Cache-Control"] = "no-store"
    return response


def save_valid_form(request: HttpRequest, form: forms.Form, save: Callable[..., T]) -> T | None:
    """On a POST with a valid form, call the service `save(**form.cleaned_data)` and return its result.

    A ValidationError from the service becomes a form error. None means: show the form (again).
    """
    if request.method != "POST" or not form.is_valid():
        return None
    try:
        return save(**form.cleaned_data)
    except ValidationError as exc:
        form.add_error(None, exc)
        return None
