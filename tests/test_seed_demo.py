"""`manage.py seed_demo`: the demo login that bin/run prints always works, and never in production."""
from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command

from sessions_app.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _local_run(settings):
    settings.DEBUG = True  # what bin/run uses; the test runner itself forces DEBUG off


def _seed(*args) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_creates_the_demo_photographer_and_prints_the_login():
    output = _seed()
    assert "email:    demo@eyespy.local" in output
    assert "password: eyespy-demo" in output
    assert authenticate(username="demo@eyespy.local", password="eyespy-demo") is not None
    user = User.objects.get(email="demo@eyespy.local")
    assert not user.is_staff  # a plain photographer: sees only their own work


def test_running_again_keeps_a_password_the_photographer_changed():
    _seed()
    user = User.objects.get(email="demo@eyespy.local")
    user.set_password("changed-by-me")
    user.save()
    output = _seed()  # every bin/run calls it
    assert "eyespy-demo" not in output  # never print a login that does not work
    assert "password: the one you set (manage.py seed_demo --reset sets it back)" in output
    assert authenticate(username="demo@eyespy.local", password="changed-by-me") is not None
    assert User.objects.filter(email="demo@eyespy.local").count() == 1


def test_running_again_unchanged_prints_the_same_login():
    _seed()
    output = _seed()
    assert "Created" not in output and "password: eyespy-demo" in output
    assert authenticate(username="demo@eyespy.local", password="eyespy-demo") is not None


def test_reset_sets_the_demo_password_again():
    _seed()
    user = User.objects.get(email="demo@eyespy.local")
    user.set_password("changed-by-me")
    user.is_active = False
    user.save()
    assert "Reset the demo photographer's password" in _seed("--reset")
    assert authenticate(username="demo@eyespy.local", password="eyespy-demo") is not None


def test_email_and_password_can_be_chosen():
    _seed("--email", "Studio@Example.com", "--password", "another-demo-pass")
    assert authenticate(username="studio@example.com", password="another-demo-pass") is not None


def test_refused_when_debug_is_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG is off"):
        _seed()
    assert not User.objects.exists()
    _seed("--force")
    assert User.objects.filter(email="demo@eyespy.local").exists()
