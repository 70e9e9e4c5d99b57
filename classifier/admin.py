"""Operator views of model versions, predictions, corrections and re-analysis jobs, and the photo admin's
re-run action. Actions call services."""
from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from classifier import selectors, services
from classifier.models import Correction, ModelVersion, Prediction, ReanalysisJob
from sessions_app.admin import PhotoAdmin as SessionsPhotoAdmin
from sessions_app.models import Photo

# sessions_app owns the Photo admin; re-running photos is this app's work, so its admin gains the action here.
admin.site.unregister(Photo)


@admin.register(Photo)
class PhotoAdmin(SessionsPhotoAdmin):
    actions = ("requeue_photos",)

    @admin.action(description="Re-run the selected photos (failed or stuck)")
    def requeue_photos(self, request: HttpRequest, queryset: QuerySet[Photo]) -> None:
        count = services.photos_requeue(photos_qs=queryset)
        self.message_user(request, f"Queued {count} photo(s) again.", messages.SUCCESS)


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ("name", "is_live", "gate_result", "short_checksum", "prediction_count", "parent", "created_by", "created_at")
    list_filter = ("is_live",)
    list_select_related = ("parent", "created_by")
    raw_id_fields = ("parent", "created_by")
    search_fields = ("name", "checksum", "notes")
    readonly_fields = ("is_live", "checksum", "metrics", "gate", "data", "train_seconds", "created_at", "updated_at")
    actions = ("make_live",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[ModelVersion]:
        return super().get_queryset(request).annotate(_prediction_count=Count("predictions"))

    @admin.display(description="gate")
    def gate_result(self, obj: ModelVersion) -> str:
        if not obj.gate:
            return "—"
        return f"{'passed' if obj.gate.get('passed') else 'refused'}: {obj.gate.get('reason', '')}"[:120]

    @admin.display(description="checksum")
    def short_checksum(self, obj: ModelVersion) -> str:
        return obj.checksum[:12]

    @admin.display(description="predictions", ordering="_prediction_count")
    def prediction_count(self, obj: ModelVersion) -> int:
        return obj._prediction_count

    @admin.action(description="Make the selected model version live")
    def make_live(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> TemplateResponse | None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one model version.", messages.ERROR)
            return
        version = queryset.get()
        if version.gate_refused and request.POST.get("confirm") != "1":  # Django's intermediate-page pattern
            return TemplateResponse(request, "admin/classifier/modelversion/confirm_make_live.html", {
                **self.admin_site.each_context(request), "version": version, "opts": self.model._meta,
                "findings": selectors.gate_findings(version), "action_checkbox_name": ACTION_CHECKBOX_NAME,
                "title": f"Make {version.name} live although the gate refused it?"})
        version = services.model_version_promote(version=version)
        self.message_user(request, f"{version.name} is live; workers switch on their next photo.")
        return None


@admin.register(Prediction)
class PredictionAdmin(admin.ModelAdmin):
    list_display = ("photo", "session", "verdict", "confidence", "reason", "model_version", "updated_at")
    list_filter = ("verdict", "model_version")
    list_select_related = ("photo", "photo__session", "model_version")
    raw_id_fields = ("photo", "model_version")
    search_fields = ("photo__original_filename", "photo__session__title", "reason")
    readonly_fields = ("photo", "model_version", "verdict", "confidence", "reason", "details", "created_at", "updated_at")
    actions = ("rerun_photos",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # predictions come from the worker only

    @admin.display(ordering="photo__session__title")
    def session(self, obj: Prediction):
        return obj.photo.session

    @admin.action(description="Re-run these photos with the live model")
    def rerun_photos(self, request: HttpRequest, queryset: QuerySet[Prediction]) -> None:
        count = services.photos_requeue(photos_qs=Photo.objects.filter(predictions__in=queryset).distinct())
        self.message_user(request, f"Queued {count} photo(s) for processing.")


@admin.register(Correction)
class CorrectionAdmin(admin.ModelAdmin):
    """Append-only human ground truth: visible here, never edited here."""

    list_display = ("photo", "face_index", "previous_label", "label", "model_version", "created_by", "created_at")
    list_filter = ("label",)
    list_select_related = ("photo", "model_version", "created_by")
    raw_id_fields = ("photo", "model_version", "created_by")
    search_fields = ("photo__original_filename", "created_by__email")
    readonly_fields = ("photo", "face_index", "label", "previous_label", "model_version", "created_by", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


# --- Re-analysis ---------------------------------------------------------------------------------------


@admin.register(ReanalysisJob)
class ReanalysisJobAdmin(admin.ModelAdmin):
    list_display = ("session", "model_version", "total", "requested_by", "created_at")
    list_select_related = ("session", "model_version", "requested_by")
    raw_id_fields = ("session", "model_version", "requested_by")
    search_fields = ("session__title",)
