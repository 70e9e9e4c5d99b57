"""A photographer locked out by wrong passwords asks for an unlock link, opens it and logs in (real browser).
Saves docs/screenshots/login-locked.png and login-unlock.png on request (EYESPY_SCREENSHOT_DIR)."""
from __future__ import annotations

import re

import pytest
from django.core import mail

from tests.browser.helpers import shot
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db(transaction=True)


def _try(page, server_url: str, email: str, password: str) -> None:
    page.goto(f"{server_url}/accounts/login/")
    page.fill('input[name="username"]', email)
    page.fill('input[name="password"]', password)
    page.press('input[name="password"]', "Enter")
    page.wait_for_load_state("load")


def test_a_locked_out_photographer_unlocks_by_email_and_logs_in(page, server_url):
    alice = make_user("alice@example.com")
    for _ in range(10):
        _try(page, server_url, alice.email, "not-my-password")
    _try(page, server_url, alice.email, PASSWORD)  # the right password, but locked from here
    assert "/accounts/login/" in page.url and page.is_visible("text=Email me an unlock link")
    shot(page, "login-locked.png")

    page.click("text=Email me an unlock link")
    page.wait_for_load_state("load")
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [alice.email]
    path = re.search(r"(/accounts/login/unlock/[^/\s]+/)", mail.outbox[0].body).group(1)

    page.goto(server_url + path)  # opening the link changes nothing yet (mail scanners open links)
    assert page.is_visible("button:has-text('Unlock')")
    shot(page, "login-unlock.png")
    page.click("button:has-text('Unlock')")
    page.wait_for_url(lambda url: "/accounts/login/" in url and "unlock" not in url)
    _try(page, server_url, alice.email, PASSWORD)
    assert "/accounts/login/" not in page.url  # logged in

    page.goto(server_url + path)  # single use
    assert page.is_visible("text=This link doesn't work any more")
