"""The cast for classifier tests: alice and one of her sessions (no web client: these test services)."""
from __future__ import annotations

import pytest

from tests.factories import make_session, make_user


@pytest.fixture
def alice():
    return make_user("alice@example.com")


@pytest.fixture
def session(alice):
    return make_session(alice)
