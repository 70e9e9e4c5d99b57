"""The photographer says which eye is closed by clicking an eye close-up, or focusing it and pressing Enter."""
from __future__ import annotations

import pytest

from classifier.models import EyePick
from tests.factories import PASSWORD, make_session, make_user
from tests.review_builders import face, make_judged_photo

pytestmark = pytest.mark.django_db(transaction=True)


def _log_in(page, server_url: str, email: str) -> None:
    page.goto(f"{server_url}/accounts/login/")
    page.fill('input[name="username"]', email)
    page.fill('input[name="password"]', PASSWORD)
    page.press('input[name="password"]', "Enter")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def _open_review(page, server_url, session) -> None:
    page.goto(f"{server_url}/sessions/{session.uuid}/review/")
    page.wait_for_selector("body[data-review-ready='1']")


def test_click_or_key_on_an_eye_close_up_picks_the_closed_eye(page, server_url):
    alice = make_user("alice@example.com")
    session = make_session(alice, title="Wink shoot")
    photo = make_judged_photo(session, faces=[face(0.2, 0.9, crop=False)], name="IMG_0001.JPG")
    _log_in(page, server_url, alice.email)
    _open_review(page, server_url, session)
    page.wait_for_selector("#session-models .model-name")  # the session's model line came in

    card = f"#card-{photo.uuid}"
    page.click(f"{card} .eye[data-eye-side='left']")
    page.wait_for_selector(f"{card} .eye[data-eye-side='left'].eye-picked")
    assert list(EyePick.objects.values_list("face_index", "side")) == [(0, "left")]

    page.focus(f"{card} .eye[data-eye-side='right']")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"{card} .eye[data-eye-side='right'].eye-picked")
    assert page.is_hidden("#lightbox")  # Enter on an eye picks it; it does not open the lightbox
    assert page.get_attribute(f"{card} .eye[data-eye-side='left']", "aria-pressed") == "false"
    assert EyePick.objects.order_by("-id").values_list("side", flat=True)[0] == "right"

    page.reload()  # picks are shown again after a reload
    page.wait_for_selector(f"{card} .eye[data-eye-side='right'].eye-picked")
