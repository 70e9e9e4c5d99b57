"""A check besides the eyes speaks on a photo: its own buttons (its words, its keys) on the card and in the
loupe, and "keep anyway" / "reject" for the whole photo, work with the mouse through htmx, in a real
browser on a laptop and a phone."""
from __future__ import annotations

import pytest

from classifier import services as classifier_services
from review import selectors
from tests.browser.helpers import idle, log_in, open_review, shot
from tests.checks import WideFrameCheck, registered
from tests.factories import jpeg_bytes, make_photo, make_session, make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shoot():
    with registered(WideFrameCheck()):
        alice = make_user("alice@example.com")
        session = make_session(alice, title="Banners")
        photos = {}
        for name, size in (("PANO.JPG", (800, 400)), ("BANNER.JPG", (900, 400)), ("SQUARE.JPG", (400, 400))):
            photos[name] = make_photo(session, name=name, data=jpeg_bytes(size=size, comment=name.encode()))
            classifier_services.photo_process(photo_id=photos[name].id)
            photos[name].refresh_from_db()
        yield alice, session, photos


def test_the_checks_buttons_on_the_card_and_in_the_loupe(page, phone, server_url, shoot):
    alice, session, photos = shoot
    log_in(page, server_url, alice.email)
    open_review(page, server_url, session, "?sort=name")
    assert page.text_content("#count-blinking") == "2"
    banner, pano = photos["BANNER.JPG"], f"#card-{photos['PANO.JPG'].uuid}"
    page.select_option("[data-flag-filter]", "wide")  # only the photos the check speaks on
    visible = page.eval_on_selector_all(".photo-card", "els => els.filter(e => e.offsetParent !== null).length")
    assert visible == 2
    page.select_option("[data-flag-filter]", "")
    shot(page, "review-check-buttons-desktop.png", full_page=True)
    page.keyboard.press("l")  # the loupe, on the first reject by name: BANNER
    keep = f".loupe-photo[data-photo='{banner.uuid}'] [data-loupe-decision=':keep']"
    page.wait_for_selector(keep)
    shot(page, "loupe-check-buttons-desktop.png")
    page.click(keep)
    idle(page)
    assert selectors.photo_card(photo=banner).whole_photo_call == "keep"
    page.keyboard.press("g")  # back to the grid

    page.click(f"{pano} button.act-clear")  # "Not too wide"
    idle(page)
    page.wait_for_function(f"document.querySelector('{pano} .act-clear[aria-pressed=true]') !== null")
    assert page.text_content("#count-blinking") == "0" and page.text_content("#count-not_blinking") == "3"
    assert selectors.photo_card(photo=photos["PANO.JPG"]).outcome.kind == "keeper"

    log_in(phone, server_url, alice.email)
    open_review(phone, server_url, session, "?sort=name")
    shot(phone, "review-check-buttons-phone.png", full_page=True)
    assert phone.is_visible(f"#card-{banner.uuid} .act-keep-anyway")
