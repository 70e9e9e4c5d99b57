"""Steps the browser tests share: log in, open the review, wait for the change queue, save a screenshot."""
from __future__ import annotations

import os
from pathlib import Path

from tests.factories import PASSWORD


def log_in(page, server_url: str, email: str) -> None:
    page.goto(f"{server_url}/accounts/login/")
    page.fill('input[name="username"]', email)
    page.fill('input[name="password"]', PASSWORD)
    page.press('input[name="password"]', "Enter")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def open_review(page, server_url, session, query: str = "") -> None:
    page.goto(f"{server_url}/sessions/{session.uuid}/review/{query}")
    page.wait_for_selector("body[data-review-ready='1']")


def idle(page) -> None:
    """Every queued change has been answered and swapped in."""
    page.wait_for_function("document.body.dataset.reviewBusy === '0'")


def shot(page, name: str, **kwargs) -> None:
    """Save a screenshot for docs/ when EYESPY_SCREENSHOT_DIR is set (the README's pictures come from here)."""
    folder = os.environ.get("EYESPY_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / name), **kwargs)
