"""Small helpers the photographer-facing views share (like django.shortcuts, for this app's habits)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

T = TypeVar("T")


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
