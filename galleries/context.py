"""`gallery_badge` in every template: submitted selections the photographer hasn't looked at yet.

Lazy: the count query runs only on pages that show the nav (logged-in photographers), once per page.
"""
from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject


def gallery_badge(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from . import selectors

    return {"gallery_badge": SimpleLazyObject(lambda: selectors.unseen_submissions_count(owner=user))}
