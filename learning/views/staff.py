"""Staff pages: the dataset, the model versions with their gate results, training runs with live progress."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from classifier import selectors as classifier_selectors
from classifier import services as classifier_services
from classifier.models import ModelVersion, TrainingRun
from sessions_app.models import PhotoSession

from .. import selectors, services


@staff_member_required
@require_GET
def dataset_page(request: HttpRequest) -> HttpResponse:
    return render(request, "classifier/dataset.html", {"stats": selectors.dataset_stats()})


@staff_member_required
@require_GET
def models_page(request: HttpRequest) -> HttpResponse:
    versions = selectors.model_versions_overview()
    context = {
        "versions": list(reversed(versions)),
        "chart": selectors.chart_points(versions),
        "runs": selectors.training_runs_recent(),
        "sessions": PhotoSession.objects.select_related("owner").order_by("-created_at")[:50],
    }
    return render(request, "classifier/models.html", context)


@staff_member_required
@require_POST
def run_start(request: HttpRequest) -> HttpResponse:
    epochs = request.POST.get("epochs", "")
    try:
        run = services.training_run_create(by=request.user, from_scratch=request.POST.get("from_scratch") == "1",
                                           epochs=int(epochs) if epochs.strip() else None)
    except ValueError:
        messages.error(request, "Epochs must be a whole number.")
        return redirect("learning:models")
    except services.TrainingRunError as exc:
        messages.error(request, exc.reason)
        return redirect("learning:models")
    messages.success(request, f"Training run {run.pk} queued.")
    return redirect("learning:run", run_id=run.pk)


@staff_member_required
@require_GET
def run_page(request: HttpRequest, run_id: int) -> HttpResponse:
    run = get_object_or_404(TrainingRun.objects.select_related("result", "base_version", "requested_by"), pk=run_id)
    template = "classifier/_run_progress.html" if request.headers.get("HX-Request") else "classifier/run.html"
    response = render(request, template, {"run": run})
    response["Cache-Control"] = "no-store"
    return response


@staff_member_required
@require_POST
def run_cancel(request: HttpRequest, run_id: int) -> HttpResponse:
    run = services.training_run_cancel(run=get_object_or_404(TrainingRun, pk=run_id))
    messages.info(request, f"Training run {run.pk}: {'cancelled' if not run.is_active else 'stopping after this epoch'}.")
    return redirect("learning:run", run_id=run.pk)


@staff_member_required
@require_POST
def version_promote(request: HttpRequest, version_id: int) -> HttpResponse:
    """Make a version live: a candidate, or an earlier one (the roll-back). One the gate refused needs a second
    POST with confirm=1, after a page showing what the gate found."""
    version = get_object_or_404(ModelVersion, pk=version_id)
    if version.gate_refused and request.POST.get("confirm") != "1":
        return render(request, "classifier/promote_confirm.html",
                      {"version": version, "findings": classifier_selectors.gate_findings(version)})
    version = classifier_services.model_version_promote(version=version)
    messages.success(request, f"{version.name} is live; workers switch on their next photo.")
    return redirect("learning:models")


@staff_member_required
@require_POST
def sessions_reanalyse(request: HttpRequest) -> HttpResponse:
    sessions = PhotoSession.objects.filter(uuid__in=request.POST.getlist("sessions")[:200])
    jobs = [classifier_services.session_reanalyse(session=s, by=request.user) for s in sessions]
    messages.success(request, f"Re-analysing {len(jobs)} session(s) with the live model.")
    return redirect("learning:models")


@staff_member_required
@require_GET
def example_crop(request: HttpRequest, example_id: int) -> HttpResponse:
    """One training crop for the contact sheet (staff only; photographers' media stays behind owner checks)."""
    from django.http import FileResponse

    from classifier.models import TrainingExample

    example = get_object_or_404(TrainingExample, pk=example_id)
    response = FileResponse(example.crop.open("rb"), content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    return response
