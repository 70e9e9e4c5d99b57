from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from classifier import selectors as review

from .. import selectors

SESSIONS_PER_PAGE = 25


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """The photographer's sessions, newest shoot first, with processing and blink counts."""
    page = Paginator(selectors.session_list(owner=request.user), SESSIONS_PER_PAGE).get_page(request.GET.get("page"))
    sessions = list(page.object_list)
    blinking = review.sessions_blinking_counts(sessions=sessions)
    for s in sessions:
        s.blinking_count = blinking.get(s.id) if s.done_count else None
    context = {
        "page": page,
        "sessions": sessions,
        "client_count": selectors.client_list(owner=request.user).count(),
    }
    return render(request, "sessions_app/dashboard.html", context)
