"""Operator views of the learning loop's rows (models in classifier): training runs, examples, eye picks,
opt-outs, personal models. Actions call learning.services."""
from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from classifier.models import EyePick, PersonalModel, TrainingExample, TrainingOptOut, TrainingRun

from . import services


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


@admin.register(PersonalModel)
class PersonalModelAdmin(admin.ModelAdmin):
    list_display = ("photographer", "strictness", "decisions", "agreement_before", "agreement_after", "accepted_at")
    list_select_related = ("photographer",)
    raw_id_fields = ("photographer",)
    search_fields = ("photographer__email",)
