"""Sessions: create, the session page with its live progress panel, edit, delete, re-run failed photos."""
from __future__ import annotations

from functools import partial

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET, require_POST

from classifier import services as classifier_services
from eyespy_site import heartbeat
from sessions_app import selectors, services
from sessions_app.models import PhotoSession
from sessions_app.shortcuts import is_htmx, render_no_store, save_valid_form

from .. import selectors as review
from .. import services as review_services
from ..forms import SessionForm

UPLOAD_CONCURRENCY = 3  # parallel uploads per browser tab: keeps a 2-core web host responsive


def _review_url(session: PhotoSession) -> str | None:
    # The review page belongs to another part of the app; the link appears once it exists.
    try:
        return reverse("sessions:review", args=[session.uuid])
    except NoReverseMatch:
        return None


def _progress_context(session: PhotoSession, summary: review.SessionSummary | None = None) -> dict:
    progress = selectors.session_progress(session=session)
    return {
        "session": session,
        "progress": progress,
        # Asked only while work is pending: "N waiting" is a lie when no worker will ever take them.
        "no_worker": progress.is_active and heartbeat.workers_alive() is False,
        "groups": review.session_group_counts(session=session, summary=summary),
        "rejections": selectors.session_rejected_uploads(session=session),
        "review_url": _review_url(session),
    }


@login_required
def session_create(request: HttpRequest) -> HttpResponse:
    initial = {"client": request.GET.get("client")} if request.GET.get("client") else None
    form = SessionForm(request.POST or None, owner=request.user, initial=initial)
    session = save_valid_form(request, form, partial(services.session_create, owner=request.user))
    if session is not None:
        messages.success(request, f"Session “{session.title}” created. Add its photos below.")
        return redirect("sessions:detail", session_uuid=session.uuid)
    return render(request, "sessions_app/session_form.html", {"form": form, "session": None})


@login_required
def session_detail(request: HttpRequest, session_uuid) -> HttpResponse:
    session = selectors.session_get_for_owner(owner=request.user, session_uuid=session_uuid)
    summary = review.session_summary(session=session)  # counts and agreement from one read
    context = {
        **_progress_context(session, summary),
        "max_upload_bytes": settings.EYESPY_MAX_UPLOAD_BYTES,
        "max_upload_mb": settings.EYESPY_MAX_UPLOAD_BYTES // (1024 * 1024),
        "upload_concurrency": UPLOAD_CONCURRENCY,
        "upload_accept": selectors.upload_accept(),
        "direct_uploads": services.direct_uploads_enabled(),
        # How the model did; the page shows it once the photographer has corrected something.
        "agreement": summary.agreement,
        "editor_folders": bool(settings.EYESPY_EDITOR_FOLDERS_ROOT),
    }
    return render(request, "sessions_app/session_detail.html", context)


@login_required
@require_GET
def session_progress(request: HttpRequest, session_uuid) -> HttpResponse:
    """The progress panel alone; htmx polls it while photos are queued or processing."""
    session = selectors.session_get_for_owner(owner=request.user, session_uuid=session_uuid)
    # oob: the header's photo count is refreshed along with the panel.
    return render_no_store(request, "sessions_app/_progress.html", {**_progress_context(session), "oob": True})


@login_required
@require_POST
def session_rerun(request: HttpRequest, session_uuid) -> HttpResponse:
    session = selectors.session_get_for_owner(owner=request.user, session_uuid=session_uuid)
    count = classifier_services.photos_requeue_failed(session=session)
    if is_htmx(request):
        return render(request, "sessions_app/_progress.html", {**_progress_context(session), "oob": True})
    if count:
        messages.success(request, f"Re-running {count} photo{'s' if count != 1 else ''}.")
    else:
        messages.info(request, "No failed photos to re-run.")
    return redirect("sessions:detail", session_uuid=session.uuid)


@login_required
def session_edit(request: HttpRequest, session_uuid) -> HttpResponse:
    session = selectors.session_get_for_owner(owner=request.user, session_uuid=session_uuid)
    initial = {"title": session.title, "shot_on": session.shot_on, "client": session.client}
    form = SessionForm(request.POST or None, owner=request.user, initial=initial)
    if save_valid_form(request, form, partial(services.session_update, session=session)) is not None:
        messages.success(request, "Session saved.")
        return redirect("sessions:detail", session_uuid=session.uuid)
    return render(request, "sessions_app/session_form.html", {"form": form, "session": session})


@login_required
def session_delete(request: HttpRequest, session_uuid) -> HttpResponse:
    session = selectors.session_get_for_owner(owner=request.user, session_uuid=session_uuid)
    if request.method == "POST":
        title = session.title
        services.session_delete(session=session)
        messages.success(request, f"Deleted session “{title}” and all of its photos.")
        return redirect("sessions:dashboard")
    progress = selectors.session_progress(session=session)
    return render(request, "sessions_app/session_confirm_delete.html", {"session": session, "progress": progress})


@login_required
@require_POST
def session_read_decisions(request: HttpRequest, session_uuid) -> HttpResponse:
    """Read the keep / reject marks set in an editor (XMP beside the photographer's copies, in their own
    folder on this server) into this session: a dry run first unless "record" is asked; one undo takes it back."""
    session = selectors.session_get_for_owner(owner=request.user, session_uuid=session_uuid)
    record = request.POST.get("record") == "1"
    rules = review_services.DecisionRules(eyes_from_decisions=request.POST.get("no_eye_labels") != "1")
    try:
        folder = review_services.photographer_folder(owner=request.user, relative=request.POST.get("folder", ""))
        report = review_services.editor_decisions_read(session=session, folder=folder, rules=rules,
                                                       dry_run=not record)
    except review_services.EditorDecisionsError as exc:
        messages.error(request, exc.reason[:1].upper() + exc.reason[1:])
        return redirect("sessions:detail", session_uuid=session.uuid)
    return render(request, "sessions_app/read_decisions.html",
                  {"session": session, "report": report, "folder": request.POST.get("folder", ""), "recorded": record})
