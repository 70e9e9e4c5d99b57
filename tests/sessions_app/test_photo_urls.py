"""`{% photo_url %}` gives exactly what `{% url %}` / reverse() give, for every per-photo URL the cards use."""
from __future__ import annotations

import uuid

import pytest
from django.urls import reverse, set_script_prefix

from sessions_app.templatetags.photo_urls import photo_url

NAMES = ["sessions:photo_correct", "sessions:photo_undo", "sessions:photo_lightbox", "sessions:photo_loupe",
         "sessions:photo_thumbnail"]


@pytest.mark.parametrize("name", NAMES)
def test_matches_reverse(name):
    photo = uuid.uuid4()
    assert photo_url(name, photo) == reverse(name, args=[photo])


@pytest.mark.parametrize(("face", "side"), [(0, "left"), (12, "right"), (3, "a b?ü")])
def test_matches_reverse_with_more_arguments(face, side):
    photo = uuid.uuid4()
    assert photo_url("sessions:photo_eye", photo, face, side) == reverse("sessions:photo_eye", args=[photo, face, side])


def test_follows_the_script_prefix():
    photo = uuid.uuid4()
    set_script_prefix("/eyespy/")
    try:
        assert photo_url("sessions:photo_correct", photo) == f"/eyespy/photos/{photo}/correct/"
    finally:
        set_script_prefix("/")
