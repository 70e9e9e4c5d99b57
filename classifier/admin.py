"""Operator views of model versions, predictions and corrections. Actions call services."""
from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from classifier import services
from classifier.models import (
    Correction,
    EyePick,
    ModelVersion,
    PersonalModel,
    Prediction,
    ReanalysisJob,
    TrainingExample,
    TrainingOptOut,
    TrainingRun,
)
from sessions_app.models import Photo


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
    def make_live(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one model version.", messages.ERROR)
            return
        version = services.model_version_promote(version=queryset.get())
        self.message_user(request, f"{version.name} is live; workers switch on their next photo.")


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


# --- Learning loop ---------------------------------------------------------------------------------------


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    """Start a run with the button above the list (templates/admin/classifier/trainingrun/change_list.html)."""

    list_display = ("id", "status", "progress", "phase", "requested_by", "result", "started_at", "finished_at")
    list_filter = ("status",)
    list_select_related = ("requested_by", "result", "base_version")
    raw_id_fields = ("requested_by", "result", "base_version")
    search_fields = ("error", "log")
    readonly_fields = [f.name for f in TrainingRun._meta.fields]
    actions = ("cancel_runs",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # runs start through the service (the button), never as a hand-made row

    @admin.display(description="progress")
    def progress(self, obj: TrainingRun) -> str:
        return f"epoch {obj.epoch} of {obj.epochs}" if obj.epochs else "—"

    @admin.action(description="Cancel the selected runs")
    def cancel_runs(self, request: HttpRequest, queryset: QuerySet[TrainingRun]) -> None:
        for run in queryset:
            services.training_run_cancel(run=run)
        self.message_user(request, "Cancel requested; a running run stops after its current epoch.")


@admin.register(TrainingExample)
class TrainingExampleAdmin(admin.ModelAdmin):
    list_display = ("id", "photo", "face_index", "side", "label", "split", "tag", "rule", "photographer", "dropped_at")
    list_filter = ("label", "split", "tag", "rule")
    list_select_related = ("photo", "photographer")
    raw_id_fields = ("correction", "photo", "photographer", "model_version")
    search_fields = ("photo__original_filename", "photographer__email")
    readonly_fields = [f.name for f in TrainingExample._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(EyePick)
class EyePickAdmin(admin.ModelAdmin):
    list_display = ("photo", "face_index", "side", "created_by", "created_at")
    list_select_related = ("photo", "created_by")
    raw_id_fields = ("photo", "created_by")
    search_fields = ("photo__original_filename",)
    readonly_fields = ("photo", "face_index", "side", "created_by", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(TrainingOptOut)
class TrainingOptOutAdmin(admin.ModelAdmin):
    list_display = ("owner", "session", "created_at")
    list_select_related = ("owner", "session")
    raw_id_fields = ("owner", "session")
    search_fields = ("owner__email",)


@admin.register(ReanalysisJob)
class ReanalysisJobAdmin(admin.ModelAdmin):
    list_display = ("session", "model_version", "total", "requested_by", "created_at")
    list_select_related = ("session", "model_version", "requested_by")
    raw_id_fields = ("session", "model_version", "requested_by")
    search_fields = ("session__title",)


@admin.register(PersonalModel)
class PersonalModelAdmin(admin.ModelAdmin):
    list_display = ("photographer", "strictness", "decisions", "agreement_before", "agreement_after", "accepted_at")
    list_select_related = ("photographer",)
    raw_id_fields = ("photographer",)
    search_fields = ("photographer__email",)
