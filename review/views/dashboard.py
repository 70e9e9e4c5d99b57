from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from sessions_app import selectors

from .. import selectors as review

SESSIONS_PER_PAGE = 25


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """The photographer's sessions, newest shoot first, with processing, blink and still-to-check counts."""
    page = Paginator(selectors.session_list(owner=request.user), SESSIONS_PER_PAGE).get_page(request.GET.get("page"))
    sessions = list(page.object_list)
    counts = review.sessions_counts(sessions=sessions)  # the review's own counts, cached per session
    for s in sessions:
        s.blinking_count = counts[s.id]["blinking"] if s.done_count and s.id in counts else None
        s.check_count = counts[s.id]["check"] if s.blinking_count is not None else None
    context = {
        "page": page,
        "sessions": sessions,
        "client_count": selectors.client_list(owner=request.user).count(),
    }
    return render(request, "sessions_app/dashboard.html", context)
