"""Playwright on Debian's chromium against pytest-django's live server (marker `browser`).

Playwright's sync API runs an event loop in the test thread, which makes Django refuse ORM calls there
unless DJANGO_ALLOW_ASYNC_UNSAFE is set: the `chromium` fixture sets it while the browser is open (the
tests only touch the database while the page is idle) and puts it back afterwards.
"""
from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

from django.core.servers.basehttp import ThreadedWSGIServer

from tests.conftest import require

CHROMIUM = os.environ.get("EYESPY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


class _OneRequestAtATime(ThreadedWSGIServer):
    """The live server, answering one request at a time (browsers still open connections in parallel).

    SQLite's in-memory test database is ONE connection, shared by the test and every live-server thread:
    requests that overlap (upload.js sends three at once) interleave their statements on it and fail with
    "cannot open savepoint - SQL statements in progress". Production never shares a connection between
    threads; this only keeps the shared one consistent. Each response is read to its end inside the lock.
    """

    _lock = threading.Lock()

    def set_app(self, application):
        lock = self._lock

        def serial(environ, start_response):
            with lock:
                response = application(environ, start_response)
                try:
                    body = b"".join(response)
                finally:
                    close = getattr(response, "close", None)
                    if close is not None:
                        close()
            return [body]

        super().set_app(serial)


@pytest.fixture
def server_url(request, settings) -> str:
    """The live server's address. Django's live server wraps the site in a media-file handler that needs a
    str MEDIA_URL; ours is None (media is never served by URL), so the server gets an unused prefix first."""
    from django.db import connection
    from django.test.testcases import LiveServerThread

    settings.MEDIA_URL = "/_live-server-media-unused/"
    if connection.vendor == "sqlite":  # before pytest-django's session-wide live server first starts
        LiveServerThread.server_class = _OneRequestAtATime
    return request.getfixturevalue("live_server").url


@pytest.fixture(scope="module")
def chromium():
    # Module scope: Playwright's sync API keeps an event loop running while it is open, which would
    # break any other module's own sync_playwright() if this one stayed open for the whole session.
    require(Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is not None, f"chromium not found at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "playwright is not installed (requirements-dev.txt)")
    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if before is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


def _new_page(chromium, *, bypass_csp: bool):
    context = chromium.new_context(viewport={"width": 1400, "height": 900}, bypass_csp=bypass_csp)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.on("pageerror", lambda exc: print(f"page error: {exc}"))  # shown with a failing test's output
    return context, page


@pytest.fixture
def page(chromium):
    # Playwright's wait_for_function evaluates its string with eval, which our strict CSP refuses (so such a
    # wait fails whenever its first look is false). These tests are about behaviour; tests/browser/test_csp.py
    # checks the policy itself, on `strict_page`.
    context, page = _new_page(chromium, bypass_csp=True)
    yield page
    context.close()


@pytest.fixture
def strict_page(chromium):
    """A page that enforces the site's Content-Security-Policy like any browser."""
    context, page = _new_page(chromium, bypass_csp=False)
    yield page
    context.close()


@pytest.fixture
def phone(chromium):
    """A 390x844 touch phone (what an iPhone 12-15 reports), for layout and touch checks."""
    # bypass_csp: like `page` (Playwright's waits use eval); test_csp.py checks the policy itself.
    context = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                   device_scale_factor=2, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.on("pageerror", lambda exc: print(f"page error: {exc}"))
    yield page
    context.close()

