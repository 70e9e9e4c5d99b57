"""Photographer-facing learning pieces: eye picks, what a new model changed in a session, re-analysis, personal model."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from classifier import services as classifier_services
from classifier.models import EyePick, TrainingOptOut
from sessions_app import selectors as sessions_selectors

from .. import selectors, services


@login_required
@require_POST
def eye_pick(request: HttpRequest, photo_uuid) -> HttpResponse:
    """This face's closed eye is `side` (a click or key on the eye close-up in the review)."""
    photo = sessions_selectors.photo_get_for_owner(owner=request.user, photo_uuid=photo_uuid)
    try:
        pick = services.eye_pick_create(photo=photo, face_index=int(request.POST.get("face", "-1")),
                                        side=request.POST.get("side", ""), by=request.user)
    except ValueError:
        return HttpResponse("face must be a number", status=400, content_type="text/plain")
    except services.EyePickError as exc:
        return HttpResponse(exc.reason, status=400, content_type="text/plain")
    return JsonResponse({"photo": photo.uuid.hex, "face": pick.face_index, "side": pick.side})


@login_required
@require_GET
def session_eye_picks(request: HttpRequest, session_uuid) -> HttpResponse:
    """The newest pick per face of a session's photos, so the review can mark them."""
    session = sessions_selectors.session_get_for_owner(owner=request.user, session_uuid=session_uuid)
    picks: dict[str, str] = {}
    for photo_uuid, face, side in (EyePick.objects.filter(photo__session=session).order_by("created_at", "id")
                                   .values_list("photo__uuid", "face_index", "side")):
        picks[f"{photo_uuid}:{face}"] = side
    return JsonResponse({"picks": picks})


@login_required
@require_GET
def session_models(request: HttpRequest, session_uuid) -> HttpResponse:
    """Which models judged this session, what the new one changed, and re-analysis progress (polled)."""
    session = sessions_selectors.session_get_for_owner(owner=request.user, session_uuid=session_uuid)
    context = {"session": session, "changes": selectors.session_model_changes(session=session),
               "opted_out": TrainingOptOut.objects.filter(session=session).exists()}
    response = render(request, "classifier/_session_models.html", context)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def session_reanalyse(request: HttpRequest, session_uuid) -> HttpResponse:
    session = sessions_selectors.session_get_for_owner(owner=request.user, session_uuid=session_uuid)
    classifier_services.session_reanalyse(session=session, by=request.user)
    if request.headers.get("HX-Request"):
        return session_models(request, session_uuid)
    messages.success(request, "Re-analysing this session with the live model.")
    return redirect("sessions:review", session_uuid=session.uuid)


@login_required
@require_POST
def session_training_opt_out(request: HttpRequest, session_uuid) -> HttpResponse:
    session = sessions_selectors.session_get_for_owner(owner=request.user, session_uuid=session_uuid)
    opted_out = request.POST.get("opt_out") == "1"
    services.training_opt_out_set(owner=request.user, session=session, opted_out=opted_out)
    if request.headers.get("HX-Request"):
        return session_models(request, session_uuid)
    return redirect("sessions:review", session_uuid=session.uuid)


@login_required
@require_GET
def personal_page(request: HttpRequest) -> HttpResponse:
    checks = selectors.check_suggestions(photographer=request.user)
    context = {"summary": selectors.personal_summary(photographer=request.user), "checks": checks,
               "checks_ready": any(c.enabled for c in checks),
               "opted_out_all": TrainingOptOut.objects.filter(owner=request.user, session__isnull=True).exists()}
    return render(request, "classifier/personal.html", context)


@login_required
@require_POST
def personal_accept(request: HttpRequest) -> HttpResponse:
    try:
        model = services.personal_model_accept(photographer=request.user)
    except services.PersonalModelError as exc:
        messages.error(request, exc.reason)
    else:
        others = "".join(f", {key} {value['strictness']:.2f}" for key, value in model.check_strictness.items())
        messages.success(request, f"Your strictness (eyes {model.strictness:.2f}{others}) now applies to all your sessions.")
    return redirect("learning:personal")


@login_required
@require_POST
def personal_opt_out(request: HttpRequest) -> HttpResponse:
    services.training_opt_out_set(owner=request.user, session=None, opted_out=request.POST.get("opt_out") == "1")
    return redirect("learning:personal")
