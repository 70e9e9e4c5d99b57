"""Staff admin for accounts, clients, sessions, photos and exports (operator grade: joins, search, raw ids)."""
from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db.models import Count, Q
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.html import format_html

from .models import Client, Export, Gallery, Photo, PhotoSession, RejectedUpload, Selection, User


class EyeSpyUserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "name")


class EyeSpyUserChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = EyeSpyUserChangeForm
    add_form = EyeSpyUserCreationForm
    ordering = ("email",)
    list_display = ("email", "name", "studio_name", "session_count", "is_active", "is_staff", "date_joined", "last_login")
    list_filter = ("is_active", "is_staff", "is_superuser")
    search_fields = ("email", "name", "studio_name")
    readonly_fields = ("date_joined", "last_login")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("name", "studio_name")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "name", "usable_password", "password1", "password2")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_session_count=Count("photo_sessions"))

    @admin.display(description="sessions", ordering="_session_count")
    def session_count(self, obj: User) -> int:
        return obj._session_count


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    list_display = ("name", "email", "owner", "created_at")
    list_select_related = ("owner",)
    raw_id_fields = ("owner",)
    search_fields = ("name", "email", "owner__email")
    readonly_fields = ("uuid", "created_at", "updated_at")


@admin.register(PhotoSession)
class PhotoSessionAdmin(admin.ModelAdmin):
    list_display = ("title", "owner", "client", "shot_on", "photo_count", "failed_count", "created_at")
    list_select_related = ("owner", "client")
    raw_id_fields = ("owner", "client")
    search_fields = ("title", "uuid", "owner__email", "client__name")
    list_filter = ("shot_on",)
    date_hierarchy = "created_at"
    readonly_fields = ("uuid", "created_at", "updated_at", "site_link")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            _photos=Count("photos"), _failed=Count("photos", filter=Q(photos__status=Photo.Status.FAILED))
        )

    @admin.display(description="photos", ordering="_photos")
    def photo_count(self, obj: PhotoSession) -> int:
        return obj._photos

    @admin.display(description="failed", ordering="_failed")
    def failed_count(self, obj: PhotoSession) -> int:
        return obj._failed

    @admin.display(description="on the site")
    def site_link(self, obj: PhotoSession) -> str:
        return format_html('<a href="{}">session page</a> (owner only)', reverse("sessions:detail", args=[obj.uuid]))


@admin.register(Photo)
class PhotoAdmin(admin.ModelAdmin):
    list_display = ("original_filename", "session", "owner_email", "status", "size", "dimensions", "attempts", "created_at")
    list_select_related = ("session", "session__owner")
    raw_id_fields = ("session",)
    search_fields = ("original_filename", "uuid", "sha256", "session__title", "session__owner__email")
    list_filter = ("status", "content_type")
    # Stored files show as names: media has no public URL, and staff aren't the photo's owner.
    exclude = ("original", "companion", "thumbnail", "preview")
    readonly_fields = (
        "uuid", "sha256", "bytes", "original_name", "extension", "content_type", "width", "height", "taken_at",
        "thumbnail_name", "preview_name", "started_at", "finished_at", "created_at", "updated_at",
    )
    # Re-running photos is the classifier's: classifier/admin.py extends this admin with that action.

    @admin.display(description="original")
    def original_name(self, obj: Photo) -> str:
        return obj.original.name

    @admin.display(description="thumbnail")
    def thumbnail_name(self, obj: Photo) -> str:
        return obj.thumbnail.name or "—"

    @admin.display(description="preview")
    def preview_name(self, obj: Photo) -> str:
        return obj.preview.name or "—"

    @admin.display(description="owner", ordering="session__owner__email")
    def owner_email(self, obj: Photo) -> str:
        return obj.session.owner.email

    @admin.display(description="size", ordering="bytes")
    def size(self, obj: Photo) -> str:
        return filesizeformat(obj.bytes)

    @admin.display(description="pixels")
    def dimensions(self, obj: Photo) -> str:
        return f"{obj.width}×{obj.height}" if obj.width and obj.height else "—"


@admin.register(Export)
class ExportAdmin(admin.ModelAdmin):
    list_display = ("__str__", "session", "requested_by", "format", "status", "progress", "total", "created_at")
    list_select_related = ("session", "requested_by")
    raw_id_fields = ("session", "requested_by")
    search_fields = ("uuid", "session__title", "session__owner__email", "requested_by__email")
    list_filter = ("status", "format")
    exclude = ("file",)
    readonly_fields = ("uuid", "file_name", "progress", "total", "error", "created_at", "updated_at")

    @admin.display(description="file")
    def file_name(self, obj: Export) -> str:
        return obj.file.name or "—"


class SelectionInline(admin.TabularInline):
    model = Selection
    extra = 0
    can_delete = False
    fields = ("name", "email", "created_at", "submitted_at", "seen_at", "notify_error")
    readonly_fields = fields
    show_change_link = False


@admin.register(Gallery)
class GalleryAdmin(admin.ModelAdmin):
    """Operators see galleries and who is choosing; the token and password hash never show here."""

    list_display = ("title", "session", "owner", "photos", "guests", "is_open", "expires_at", "created_at")
    list_select_related = ("session", "session__owner")
    search_fields = ("uuid", "title", "session__title", "session__owner__email")
    raw_id_fields = ("session", "cover")
    exclude = ("token", "password_hash")
    readonly_fields = ("uuid", "created_at", "updated_at")
    inlines = [SelectionInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            n_photos=Count("items", distinct=True), n_guests=Count("selections", distinct=True))

    @admin.display(ordering="session__owner__email")
    def owner(self, obj: Gallery) -> str:
        return obj.session.owner.email

    @admin.display(ordering="n_photos")
    def photos(self, obj: Gallery) -> int:
        return obj.n_photos

    @admin.display(ordering="n_guests")
    def guests(self, obj: Gallery) -> int:
        return obj.n_guests

    @admin.display(boolean=True, description="link works")
    def is_open(self, obj: Gallery) -> bool:
        return obj.is_open
@admin.register(RejectedUpload)
class RejectedUploadAdmin(admin.ModelAdmin):
    """Files refused at upload, with the reason the photographer saw (read-only: a record, not a to-do)."""

    list_display = ("filename", "reason", "session", "created_at")
    list_select_related = ("session",)
    raw_id_fields = ("session",)
    search_fields = ("filename", "reason", "session__title")
    readonly_fields = ("session", "filename", "reason", "bytes", "created_at")
