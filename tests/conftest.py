"""Fixtures shared by every test package.

`require(...)` is the one place that decides between skip and fail: a missing service or data set
skips with its reason on a developer's machine, but fails in CI (CI=true), where everything must be there.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("EYESPY_SHARED_DATA", ROOT.parent / "shared" / "data"))
IN_CI = os.environ.get("CI", "").lower() == "true"
# Speed targets belong to bench/; the few a test can also check run only where a quiet machine asks for them
# (EYESPY_PERF_BUDGETS=1). Tests assert behaviour, not how fast this machine was today.
PERF_BUDGETS = os.environ.get("EYESPY_PERF_BUDGETS", "") == "1"


def require(condition: bool, reason: str) -> None:
    """Skip (locally) or fail (CI) unless `condition` holds."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (CEW eyes/faces, a few photos). Read in place, never copied into the repo."""
    require((SHARED_DATA / "cew").is_dir(), f"labelled data not found at {SHARED_DATA} (set EYESPY_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _isolated_media(request, tmp_path, settings_if_django):
    """Each Django test writes media into its own temp folder."""
    if settings_if_django is not None:
        settings_if_django.MEDIA_ROOT = tmp_path / "media"
        settings_if_django.STORAGES = {
            **settings_if_django.STORAGES,
            "default": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(tmp_path / "media"), "base_url": None},
            },
        }
    yield


@pytest.fixture
def settings_if_django(request):
    # tests/ml never touch Django; everything else gets pytest-django's `settings`.
    if "tests/ml" in str(request.node.fspath).replace(os.sep, "/"):
        return None
    return request.getfixturevalue("settings")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings_if_django):
    """MD5 instead of PBKDF2 (~0.5 s per user) in tests; production hashing is untouched."""
    if settings_if_django is not None:
        settings_if_django.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    yield


@pytest.fixture(autouse=True)
def _broker_not_remembered_down(settings_if_django, monkeypatch):
    """A failed send in one test must not make the next test's uploads skip the broker."""
    if settings_if_django is not None:
        from classifier.services import processing

        monkeypatch.setattr(processing, "_broker_down_until", 0.0)
    yield


@pytest.fixture(autouse=True)
def _empty_local_cache(settings_if_django):
    """Each Django test starts with an empty cache (login-throttle counts would leak between tests).

    Only the local-memory cache is cleared: a Redis cache may be someone's real one.
    """
    if settings_if_django is not None:
        from django.core.cache import caches
        from django.core.cache.backends.locmem import LocMemCache

        if isinstance(caches["default"], LocMemCache):
            caches["default"].clear()
    yield


@pytest.fixture
def clock(monkeypatch):
    """time.time() under the test's control (signing and the local-memory cache read it): clock(seconds) moves it."""
    now = [time.time()]
    monkeypatch.setattr(time, "time", lambda: now[0])

    def advance(seconds: float) -> None:
        now[0] += seconds

    return advance
