"""Model versions, the machine's predictions and the photographer's corrections."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from ml.types import Verdict as MLVerdict
from sessions_app import media_names
from sessions_app.models import Photo, TimeStampedModel


# ml owns the verdicts; the database choices are made from them, so the two can't drift.
Verdict = models.TextChoices("Verdict", [(v.name, (v.value, v.label)) for v in MLVerdict])


def model_weights_upload_to(version: "ModelVersion", filename: str) -> str:
    return media_names.model_weights_name(version_name=version.name, filename=filename)


class ModelVersion(TimeStampedModel):
    """A trained eye-state CNN. At most one is live; workers reload when the live id changes."""

    name = models.CharField(max_length=100, unique=True)
    weights = models.FileField(upload_to=model_weights_upload_to, max_length=255, blank=True)
    # sha256 of the weights file; also identifies the bundled default model.
    checksum = models.CharField(max_length=64, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    notes = models.TextField(blank=True)
    is_live = models.BooleanField(default=False)
    parent = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="children")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_live"], condition=models.Q(is_live=True), name="classifier_modelversion_one_live"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}{' (live)' if self.is_live else ''}"


class Prediction(TimeStampedModel):
    """What one model version said about one photo. Re-runs update it in place; corrections live elsewhere."""

    photo = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="predictions")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="predictions")
    verdict = models.CharField(max_length=12, choices=Verdict.choices)
    confidence = models.FloatField()
    reason = models.CharField(max_length=500)
    # PhotoAnalysis.to_dict(): faces -> box, size, is_subject, eyes -> side, state, p_closed, openness, box, crop path.
    details = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["photo", "model_version"], name="classifier_prediction_unique_photo_version"),
        ]

    def __str__(self) -> str:
        return f"{self.photo}: {self.verdict} ({self.confidence:.2f})"


class Correction(models.Model):
    """Human ground truth, append-only: the latest one for (photo, face) wins. Never touched by model runs."""

    photo = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="corrections")
    face_index = models.PositiveSmallIntegerField(null=True, blank=True)  # None = the whole photo
    label = models.CharField(max_length=12, choices=Verdict.choices)
    previous_label = models.CharField(max_length=12, choices=Verdict.choices, blank=True)
    model_version = models.ForeignKey(ModelVersion, on_delete=models.SET_NULL, null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Set on an undo: the correction this row takes back. Undo appends a row instead of deleting one, and
    # one-to-one means a correction can only be taken back once (a double key press can't undo twice).
    undoes = models.OneToOneField(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="undone_by"
    )
    # Rows made by one action (Shift+K on 40 photos, or the undo of that) share a batch: the session's
    # undo ("undo the last change you made") takes a whole batch back as one step.
    batch = models.UUIDField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # Effective label: latest correction per photo (and per face).
            models.Index(fields=["photo", "face_index", "-created_at"], name="correction_latest_idx"),
            # Session undo: a photographer's latest change in a session.
            models.Index(fields=["created_by", "-created_at"], name="correction_by_latest_idx"),
        ]

    def __str__(self) -> str:
        target = "photo" if self.face_index is None else f"face {self.face_index}"
        return f"{self.photo} {target}: {self.previous_label or '?'} -> {self.label}"
