"""Photographers, their clients, shoot sessions and the photos in them."""
from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone

from . import media_names


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A photographer account. Logs in with email."""

    email = models.EmailField(unique=True)
    name = models.CharField(max_length=150, blank=True)
    studio_name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.name or self.email

    def get_short_name(self) -> str:
        return self.name or self.email.split("@")[0]

    @property
    def public_name(self) -> str:
        """What a photographer's clients see: the studio name, else their name; never the login email
        ('' when neither is set, and guest pages then show none)."""
        return self.studio_name or self.name


class Client(TimeStampedModel):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="clients")
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="sessions_app_client_unique_name_per_owner"),
        ]

    def __str__(self) -> str:
        return self.name


class PhotoSession(TimeStampedModel):
    """One shoot. Its status is derived from its photos' statuses (see `selectors.session_progress`)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="photo_sessions")
    client = models.ForeignKey(Client, on_delete=models.SET_NULL, null=True, blank=True, related_name="sessions")
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    title = models.CharField(max_length=200)
    shot_on = models.DateField(null=True, blank=True)
    # 0 = lenient .. 1 = strict; re-groups stored predictions without re-analysis (ml.Thresholds.from_strictness).
    # The eyes' slider (check "blink"); every other check's slider is in `check_strictness`.
    strictness = models.FloatField(default=0.5)
    check_strictness = models.JSONField(default=dict, blank=True)  # check key -> 0..1; absent = 0.5

    class Meta:
        ordering = ["-shot_on", "-created_at"]
        indexes = [
            # Dashboard: a photographer's sessions, newest first.
            models.Index(fields=["owner", "-created_at"], name="sessions_owner_created_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(strictness__gte=0) & models.Q(strictness__lte=1),
                name="sessions_app_photosession_strictness_range",
            ),
        ]

    def __str__(self) -> str:
        return self.title


def original_upload_to(photo: "Photo", filename: str) -> str:
    return media_names.original_name(session_uuid=photo.session.uuid, photo_uuid=photo.uuid, extension=photo.extension)


class Photo(TimeStampedModel):
    """One photo: one original, or a camera RAW (`original`) with its JPEG twin (`companion`, same base name).

    A pair is one photo (one analysis, one verdict, one set of corrections); exports give both files.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        PROCESSING = "processing", "Processing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    session = models.ForeignKey(PhotoSession, on_delete=models.CASCADE, related_name="photos")
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    original = models.FileField(upload_to=original_upload_to, max_length=255)
    original_filename = models.CharField(max_length=255)
    extension = models.CharField(max_length=8)  # ".jpg", ".png", ... from the sniffed type
    content_type = models.CharField(max_length=50)
    sha256 = models.CharField(max_length=64)
    bytes = models.BigIntegerField()
    width = models.PositiveIntegerField(null=True, blank=True)  # oriented
    height = models.PositiveIntegerField(null=True, blank=True)
    taken_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # The task (Celery task id) whose run claimed the photo: the same message delivered again means that
    # run died, whether or not the broker marks it redelivered.
    claimed_by_task = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    thumbnail = models.FileField(max_length=255, blank=True)
    preview = models.FileField(max_length=255, blank=True)
    # The photographer has looked at it (loupe, lightbox) or decided it: the agreement line counts only these.
    seen = models.BooleanField(default=False)
    # A RAW + JPEG pair: `original` is the RAW, the companion the other file (empty when single). Paired by
    # `pair_stem` (the base name, case-folded: IMG_0001.CR3 + img_0001.jpg) within the session.
    pair_stem = models.CharField(max_length=255, blank=True)
    companion = models.FileField(max_length=255, blank=True)
    companion_filename = models.CharField(max_length=255, blank=True)
    companion_content_type = models.CharField(max_length=50, blank=True)
    companion_sha256 = models.CharField(max_length=64, blank=True)
    companion_bytes = models.BigIntegerField(default=0)
    # Its task could not be sent (the broker was down): each worker re-sends these within seconds of the
    # broker being back (classifier/unsent_sender.py), without waiting for the stuck-photo sweeper.
    unsent = models.BooleanField(default=False)

    class Meta:
        ordering = ["original_filename", "id"]
        constraints = [
            models.UniqueConstraint(fields=["session", "sha256"], name="sessions_app_photo_unique_sha256_per_session"),
        ]
        indexes = [
            # Session progress counts and the review grid.
            models.Index(fields=["session", "status"], name="photo_session_status_idx"),
            # The stuck-work sweeper.
            models.Index(fields=["status", "started_at"], name="photo_status_started_idx"),
            # The workers' every-few-seconds look for unsent photos: a partial index, empty almost always.
            models.Index(fields=["id"], condition=models.Q(unsent=True), name="photo_unsent_idx"),
            # An upload looking for its RAW or JPEG twin (photo_store).
            models.Index(fields=["session", "pair_stem"], name="photo_session_pair_stem_idx"),
        ]

    def __str__(self) -> str:
        return self.original_filename

    @property
    def is_raw(self) -> bool:
        # Every camera RAW is stored as image/x-<maker>-<kind> (ml.imaging.RAW_KINDS); nothing else is.
        return self.content_type.startswith("image/x-")

    @property
    def is_pair(self) -> bool:
        return bool(self.companion)


class RejectedUpload(models.Model):
    """A file refused at upload, kept so the session page still says why after a reload."""

    session = models.ForeignKey(PhotoSession, on_delete=models.CASCADE, related_name="rejected_uploads")
    filename = models.CharField(max_length=255)
    reason = models.CharField(max_length=500)
    bytes = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The session page: its newest rejections.
            models.Index(fields=["session", "-created_at"], name="rejectedupload_session_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.filename}: {self.reason}"


def export_upload_to(export: "Export", filename: str) -> str:
    return media_names.export_name(session_uuid=export.session.uuid, export_uuid=export.uuid, filename=filename)


class Export(TimeStampedModel):
    """A ZIP/XMP/CSV export built by a background task and streamed to storage."""

    class Format(models.TextChoices):
        KEEPERS_ZIP = "keepers-zip", "Keepers (ZIP of originals)"
        FOLDERS_ZIP = "folders-zip", "BLINKING / NOT_BLINKING folders (ZIP)"
        XMP = "xmp", "XMP sidecars (ZIP)"
        EMBEDDED_ZIP = "embedded-zip", "Originals with metadata embedded (ZIP)"
        CSV = "csv", "CSV report"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    session = models.ForeignKey(PhotoSession, on_delete=models.CASCADE, related_name="exports")
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    format = models.CharField(max_length=16, choices=Format.choices)
    options = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveIntegerField(default=0)  # photos written
    total = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    file = models.FileField(upload_to=export_upload_to, max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_format_display()} of {self.session}"


# --- Proofing galleries (the photographer's client chooses from a session) -----------------------------
# Workflow code lives in the galleries app (galleries/); these are the rows.


class Gallery(TimeStampedModel):
    """A private link to some of a session's photos, for the client to pick favourites from."""

    class Downloads(models.TextChoices):
        OFF = "off", "No downloads"
        WEB = "web", "Web size (1600 px)"
        ORIGINALS = "originals", "Originals"

    session = models.ForeignKey(PhotoSession, on_delete=models.CASCADE, related_name="galleries")
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # secrets.token_urlsafe(32): 256 random bits. The only thing in the public URL.
    token = models.CharField(max_length=64, unique=True)
    title = models.CharField(max_length=200)
    message = models.TextField(blank=True)
    cover = models.ForeignKey("GalleryPhoto", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    password_hash = models.CharField(max_length=128, blank=True)  # Django's make_password; '' = no password
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    watermark_text = models.CharField(max_length=60, blank=True)
    downloads = models.CharField(max_length=10, choices=Downloads.choices, default=Downloads.OFF)
    download_quota = models.PositiveIntegerField(null=True, blank=True)  # None = as many as they like
    min_picks = models.PositiveIntegerField(default=0)
    max_picks = models.PositiveIntegerField(null=True, blank=True)  # None = no limit
    comments_enabled = models.BooleanField(default=True)
    # What a pick becomes in the XMP export (Lightroom's colour label names, or '' for none; -1..5).
    pick_label = models.CharField(max_length=10, blank=True, default="Green")
    pick_rating = models.SmallIntegerField(default=0)
    client_email = models.EmailField(blank=True)  # where "email the link" sends it
    # Off: downloads are named after the gallery (smith-wedding-007.jpg) and guests never learn a file
    # name. On: they keep the photographer's own names (IMG_0412.JPG), e.g. to ask for retouching by name.
    guests_see_file_names = models.BooleanField(default=False)

    class Meta:
        verbose_name_plural = "galleries"
        ordering = ["-created_at"]
        indexes = [
            # A session's galleries, and a photographer's gallery list (joined through the session).
            models.Index(fields=["session", "-created_at"], name="gallery_session_created_idx"),
        ]
        constraints = [
            # A watermark protects the photos only if nothing unwatermarked can be downloaded.
            models.CheckConstraint(
                condition=models.Q(watermark_text="") | models.Q(downloads="off"),
                name="sessions_app_gallery_watermark_means_no_downloads",
            ),
            models.CheckConstraint(
                condition=models.Q(max_picks__isnull=True) | models.Q(max_picks__gte=models.F("min_picks")),
                name="sessions_app_gallery_picks_range",
            ),
            models.CheckConstraint(
                condition=models.Q(pick_rating__gte=-1) & models.Q(pick_rating__lte=5),
                name="sessions_app_gallery_pick_rating_range",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def has_password(self) -> bool:
        return bool(self.password_hash)

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_open(self) -> bool:
        """The link works: neither revoked nor expired."""
        return not self.is_revoked and not self.is_expired


class GalleryPhoto(models.Model):
    """One photo in a gallery, in the photographer's order, with the state of its gallery previews."""

    class PreviewStatus(models.TextChoices):
        PENDING = "pending", "Being made"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    gallery = models.ForeignKey(Gallery, on_delete=models.CASCADE, related_name="items")
    photo = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="gallery_entries")
    # In public URLs instead of the photo's own uuid, so a guest never learns an id the photographer uses.
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    position = models.PositiveIntegerField(default=0)
    preview_status = models.CharField(max_length=10, choices=PreviewStatus.choices, default=PreviewStatus.PENDING)
    # Which previews exist ("plain" or "wm<hash>", see galleries.previews); the gallery's current key must match.
    preview_key = models.CharField(max_length=16, blank=True)
    preview_width = models.PositiveIntegerField(null=True, blank=True)  # of the largest variant
    preview_height = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["gallery", "photo"], name="sessions_app_galleryphoto_unique_photo"),
        ]
        indexes = [
            # The public grid: a gallery's photos in order.
            models.Index(fields=["gallery", "position"], name="galleryphoto_gallery_pos_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.photo_id} in gallery {self.gallery_id}"


class Selection(TimeStampedModel):
    """One guest's choice in a gallery (name + email on entry; several guests per gallery).

    Locked once submitted; the photographer can reopen it. Its picks and comments are the folded
    history of its SelectionItems.
    """

    gallery = models.ForeignKey(Gallery, on_delete=models.CASCADE, related_name="selections")
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=120)
    email = models.EmailField()
    submitted_at = models.DateTimeField(null=True, blank=True)
    seen_at = models.DateTimeField(null=True, blank=True)  # when the photographer last looked at a submission
    # Why the "sent their selection" mail to the photographer failed ('' = sent, or not due yet); shown
    # next to the selection on the photographer's gallery page.
    notify_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # The photographer's "new selections" badge: submitted and not seen since.
            models.Index(fields=["gallery", "submitted_at"], name="selection_gallery_sub_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"

    @property
    def is_submitted(self) -> bool:
        return self.submitted_at is not None

    @property
    def is_unseen(self) -> bool:
        return self.submitted_at is not None and (self.seen_at is None or self.seen_at < self.submitted_at)


class SelectionItem(models.Model):
    """Append-only history of a guest's actions on one photo: a heart, taking it back, a comment, a download.

    Never updated or deleted (like Correction): the latest favourite/unfavourite row says whether the
    photo is picked, the latest comment row is its comment.
    """

    class Action(models.TextChoices):
        FAVOURITE = "favourite", "Favourite"
        UNFAVOURITE = "unfavourite", "Not a favourite any more"
        COMMENT = "comment", "Comment"
        DOWNLOAD = "download", "Download"

    selection = models.ForeignKey(Selection, on_delete=models.CASCADE, related_name="items")
    gallery_photo = models.ForeignKey(GalleryPhoto, on_delete=models.CASCADE, related_name="selection_items")
    action = models.CharField(max_length=12, choices=Action.choices)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        indexes = [
            # Folding one selection's history (and the gallery-wide fold joins through selection).
            models.Index(fields=["selection", "id"], name="selectionitem_sel_id_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.gallery_photo_id} by {self.selection_id}"
