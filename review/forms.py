"""Forms of the session pages. Forms validate input only; sessions_app.services does the writing."""
from __future__ import annotations

from django import forms

from sessions_app.models import Client, User


class SessionForm(forms.Form):
    title = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"autofocus": True, "placeholder": "e.g. Smith family, spring portraits"}))
    shot_on = forms.DateField(required=False, label="Shot on", widget=forms.DateInput(attrs={"type": "date"}))
    client = forms.ModelChoiceField(
        queryset=Client.objects.none(), required=False, to_field_name="uuid", empty_label="— no client —"
    )
    new_client_name = forms.CharField(max_length=200, required=False, label="…or a new client")

    def __init__(self, *args, owner: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Only the photographer's own clients can be picked: a foreign uuid is "not a valid choice".
        self.fields["client"].queryset = Client.objects.filter(owner=owner).order_by("name")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("client") and (cleaned.get("new_client_name") or "").strip():
            raise forms.ValidationError("Pick an existing client or type a new name, not both.")
        return cleaned
