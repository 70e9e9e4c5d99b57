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
    # Trained versions keep their Keras weights too, so the next run can fine-tune from them.
    keras_weights = models.FileField(upload_to=model_weights_upload_to, max_length=255, blank=True)
    # The evaluation gate: both models' scores on the same frozen sets, passed or not, and why.
    gate = models.JSONField(default=dict, blank=True)
    data = models.JSONField(default=dict, blank=True)  # what it was trained on (counts)
    train_seconds = models.FloatField(null=True, blank=True)
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

    @property
    def gate_refused(self) -> bool:
        """A candidate the gate turned down: making it live asks for a confirmation that shows why."""
        return bool(self.gate) and self.gate.get("passed") is False


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
    """Human ground truth, append-only: the latest one for (photo, face, flag) wins. Never touched by model runs.

    What it says is (`flag`, `value`): a check's flag on the photo or one face ("blink" + flagged: "this is a
    blink"; + clear: "not a blink"), or, with `flag` empty, the whole photo ("keep" anyway, "reject",
    "no_face"). `label` is the same decision in the eye check's old words (BLINKING / NOT_BLINKING /
    NO_FACE), kept while readers move over.
    """

    class Value(models.TextChoices):
        FLAGGED = "flagged", "Flagged"
        CLEAR = "clear", "Clear"
        KEEP = "keep", "Keep anyway"
        REJECT = "reject", "Reject"
        NO_FACE = "no_face", "No face"

    # The eye check's old labels as (flag, value) (the 0005 migration froze a copy of this).
    LABEL_DECISIONS = {"BLINKING": ("blink", "flagged"), "NOT_BLINKING": ("blink", "clear"),
                       "NO_FACE": ("", "no_face")}

    photo = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="corrections")
    face_index = models.PositiveSmallIntegerField(null=True, blank=True)  # None = the whole photo
    flag = models.CharField(max_length=40, blank=True, default="")  # a check's key; "" = the whole photo
    value = models.CharField(max_length=12, choices=Value.choices, blank=True, default="")
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

    @property
    def decision(self) -> tuple[str, str]:
        """(flag, value) this row says; a row written with only an eye-check `label` reads as that label."""
        if self.value:
            return self.flag, self.value
        return self.LABEL_DECISIONS.get(self.label, ("", ""))

    def __str__(self) -> str:
        target = "photo" if self.face_index is None else f"face {self.face_index}"
        return f"{self.photo} {target}: {self.previous_label or '?'} -> {self.label}"


# --- The learning loop: picks, training examples, opt-outs, training runs, re-analysis, personal model -------


class EyePick(models.Model):
    """The photographer's answer to "which eye is closed?" for one face. Append-only; the newest counts."""

    photo = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="eye_picks")
    face_index = models.PositiveSmallIntegerField()
    side = models.CharField(max_length=5, choices=[("left", "left"), ("right", "right")])
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # The labelling rule reads the newest pick per (photo, face).
            models.Index(fields=["photo", "face_index", "-created_at"], name="eyepick_latest_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.photo} face {self.face_index}: {self.side} eye"


class TrainingOptOut(models.Model):
    """A photographer keeps a session (or, with session empty, all their sessions) out of training."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="training_opt_outs")
    session = models.OneToOneField(
        "sessions_app.PhotoSession", on_delete=models.CASCADE, null=True, blank=True, related_name="training_opt_out"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["owner"], condition=models.Q(session__isnull=True), name="classifier_trainingoptout_one_all"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.owner}: {self.session or 'all sessions'} opted out"


def training_crop_upload_to(example: "TrainingExample", filename: str) -> str:
    return media_names.training_crop_name(photo_uuid=example.photo.uuid, example_key=example.key)


class TrainingExample(TimeStampedModel):
    """One labelled eye crop cut from a correction's original photo, at the CNN's input size.

    Never edited after it is written, except to drop it (its correction was undone or superseded, or the
    session opted out): dropped rows stay for the record and are never trained on.
    """

    class Label(models.TextChoices):
        CLOSED = "closed", "Closed"
        OPEN = "open", "Open"

    class Split(models.TextChoices):
        TRAIN = "train", "Train"
        FROZEN = "frozen", "Frozen validation"

    correction = models.ForeignKey(Correction, on_delete=models.CASCADE, related_name="training_examples")
    photo = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="training_examples")
    photographer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="training_examples"
    )
    model_version = models.ForeignKey(ModelVersion, on_delete=models.SET_NULL, null=True, blank=True)
    face_index = models.PositiveSmallIntegerField()
    side = models.CharField(max_length=5)
    label = models.CharField(max_length=6, choices=Label.choices)
    split = models.CharField(max_length=6, choices=Split.choices)
    rule = models.CharField(max_length=80)  # which labelling rule gave the label
    tag = models.CharField(max_length=20)  # missed_blink / false_blink / borderline / confirmed
    p_closed = models.FloatField(null=True)  # what the model said about this eye
    crop = models.FileField(upload_to=training_crop_upload_to, max_length=255)
    dropped_at = models.DateTimeField(null=True, blank=True)
    dropped_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["correction", "face_index", "side"],
                                    name="classifier_trainingexample_one_per_eye"),
        ]
        indexes = [
            # Building a dataset: the examples in force, per split.
            models.Index(fields=["dropped_at", "split"], name="trainingexample_active_idx"),
        ]

    @property
    def key(self) -> str:
        return f"c{self.correction_id}-f{self.face_index}-{self.side}"

    def __str__(self) -> str:
        return f"{self.photo} face {self.face_index} {self.side}: {self.label} ({self.split})"


class TrainingRun(TimeStampedModel):
    """One retraining: queued -> running -> done | failed | cancelled. Runs on the `training` queue."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    params = models.JSONField(default=dict, blank=True)  # from_scratch, epochs, seed, data folder, ...
    base_version = models.ForeignKey(
        ModelVersion, on_delete=models.SET_NULL, null=True, blank=True, related_name="training_runs_from"
    )
    result = models.OneToOneField(
        ModelVersion, on_delete=models.SET_NULL, null=True, blank=True, related_name="training_run"
    )
    phase = models.CharField(max_length=40, blank=True)  # examples / data / training / evaluating / saving
    epoch = models.PositiveIntegerField(default=0)
    epochs = models.PositiveIntegerField(default=0)
    eta_seconds = models.FloatField(null=True, blank=True)
    log = models.TextField(blank=True)  # the tail only
    timings = models.JSONField(default=dict, blank=True)
    summary = models.JSONField(default=dict, blank=True)  # the command's last line
    error = models.TextField(blank=True)
    cancel_requested = models.BooleanField(default=False)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One run at a time: two would fight over the CPU and both compare against the same live model.
            models.UniqueConstraint(
                fields=["status"], condition=models.Q(status__in=["queued", "running"]),
                name="classifier_trainingrun_one_active",
            ),
        ]

    def __str__(self) -> str:
        return f"training run {self.pk} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return int(100 * self.epoch / self.epochs) if self.epochs else 0


class ReanalysisJob(TimeStampedModel):
    """Re-run a session's photos with the live model in the background; progress = photos now predicted by it."""

    session = models.ForeignKey("sessions_app.PhotoSession", on_delete=models.CASCADE, related_name="reanalyses")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="reanalyses")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    total = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"re-analyse {self.session} with {self.model_version}"


class PersonalModel(TimeStampedModel):
    """A photographer's accepted personal strictness (fitted to their own decisions, applied only on accept)."""

    photographer = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                        related_name="personal_model")
    strictness = models.FloatField()
    closed = models.FloatField()  # the cut-offs that strictness gives, as shown when accepted
    partly = models.FloatField()
    partly_counts = models.BooleanField(default=False)
    decisions = models.PositiveIntegerField()
    agreement_before = models.FloatField()
    agreement_after = models.FloatField()
    # Every other check's accepted strictness: key -> {"strictness", "before", "after", "decisions"}.
    check_strictness = models.JSONField(default=dict, blank=True)
    accepted_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.photographer}: strictness {self.strictness:.2f}"
