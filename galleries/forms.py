"""Gallery forms: they validate input and hand plain values to the services."""
from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone

from review.exports.options import COLOUR_LABELS, RATING_MAX, RATING_MIN
from sessions_app.models import Gallery

from . import guest_text
from .services import SOURCES

_RATINGS = [(n, "reject (−1)" if n == -1 else ("none" if n == 0 else "★" * n)) for n in range(RATING_MIN, RATING_MAX + 1)]
_LABELS = [("", "none"), *((name, name) for name in COLOUR_LABELS)]


class GalleryOptionsForm(forms.Form):
    title = forms.CharField(max_length=200)
    message = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False,
                              help_text="Shown at the top of the gallery.")
    password = forms.CharField(widget=forms.PasswordInput(render_value=False), required=False, max_length=128,
                               help_text="Optional. Leave empty to keep the current one.")
    remove_password = forms.BooleanField(required=False, label="Remove the password")
    expires_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}),
                                 help_text="Optional: the link stops working after this day.")
    watermark_text = forms.CharField(max_length=60, required=False, label="Watermark",
                                     help_text="Drawn on every preview, e.g. your studio name. Turns downloads off.")
    downloads = forms.ChoiceField(choices=Gallery.Downloads.choices, initial=Gallery.Downloads.OFF)
    download_quota = forms.IntegerField(min_value=1, required=False, label="Download quota",
                                        help_text="Optional: how many photos may be downloaded in all.")
    guests_see_file_names = forms.BooleanField(
        required=False, initial=False, label="Guests see file names",
        help_text="Downloads keep your file names (IMG_0412.JPG). Off: they are named after the gallery "
                  "(smith-wedding-007.jpg).")
    min_picks = forms.IntegerField(min_value=0, initial=0, label="Fewest favourites")
    max_picks = forms.IntegerField(min_value=1, required=False, label="Most favourites",
                                   help_text="e.g. the number of photos in the package; empty = no limit.")
    comments_enabled = forms.BooleanField(required=False, initial=True, label="Guests may comment")
    pick_label = forms.ChoiceField(choices=_LABELS, required=False, initial="Green", label="XMP colour label for picks")
    pick_rating = forms.TypedChoiceField(choices=_RATINGS, coerce=int, initial=0, label="XMP rating for picks")
    client_email = forms.EmailField(required=False, label="Client's email")

    def service_values(self) -> dict:
        data = dict(self.cleaned_data)
        expires_on: dt.date | None = data.pop("expires_on", None)
        data["expires_at"] = (
            timezone.make_aware(dt.datetime.combine(expires_on, dt.time(23, 59, 59))) if expires_on else None)
        for name in ("source", "photos"):
            data.pop(name, None)
        return data

    @classmethod
    def initial_for(cls, gallery: Gallery) -> dict:
        initial = {name: getattr(gallery, name) for name in (
            "title", "message", "watermark_text", "downloads", "download_quota", "min_picks", "max_picks",
            "comments_enabled", "pick_label", "pick_rating", "client_email", "guests_see_file_names")}
        if gallery.expires_at:
            initial["expires_on"] = timezone.localtime(gallery.expires_at).date()
        return initial


class GalleryCreateForm(GalleryOptionsForm):
    """A new gallery: the options, plus which of the session's photos it shows."""

    source = forms.ChoiceField(choices=list(SOURCES.items()), initial="keepers", widget=forms.RadioSelect,
                               label="Photos")
    photos = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple, choices=[])

    field_order = ("source", "photos", "title")
    NEW_PASSWORD_HELP = "Optional: guests type it to enter the gallery."

    @classmethod
    def initial_for_session(cls, session) -> dict:
        """The session's title, and its client's email when the session has a client with one."""
        client = session.client
        return {"title": session.title, "client_email": client.email if client else ""}

    def __init__(self, *args, photo_choices: list[tuple[str, str]] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["photos"].choices = list(photo_choices)
        self.fields.pop("remove_password")
        self.fields["password"].help_text = self.NEW_PASSWORD_HELP  # a new gallery has no current one to keep

    def clean(self):
        data = super().clean()
        if data.get("source") == "picked" and not data.get("photos"):
            self.add_error("photos", "Tick the photos to show.")
        return data


class SendLinkForm(forms.Form):
    to = forms.EmailField(label="Send to")
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=1000)


class GuestEntryForm(forms.Form):
    """What a guest types on the way in: name and email the first time, the password when there is one."""

    name = forms.CharField(max_length=120, required=False, widget=forms.TextInput(attrs={"autocomplete": "name"}))
    email = forms.EmailField(required=False, widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = forms.CharField(required=False, max_length=128,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))

    def __init__(self, *args, needs_name: bool, needs_password: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.needs_name, self.needs_password = needs_name, needs_password
        if not needs_name:
            del self.fields["name"], self.fields["email"]
        else:
            self.fields["name"].required = self.fields["email"].required = True
        if not needs_password:
            del self.fields["password"]
        else:
            self.fields["password"].required = True

    def clean_name(self) -> str:
        name = guest_text.one_line(self.cleaned_data.get("name"), max_length=120)
        if self.needs_name and not name:
            raise forms.ValidationError("Please give your name.")
        return name

    def clean_email(self) -> str:
        return guest_text.email_address(self.cleaned_data.get("email"))
