"""A burst in the review, in a real browser: its alternates fold under the best frame among the keepers,
"show all" opens them and the arrow keys then walk through them; laptop and phone screenshots."""
from __future__ import annotations

import pytest

from classifier import services as classifier_services
from tests.browser.helpers import log_in, open_review, shot
from tests.factories import make_photo, make_session, make_user
from tests.review.test_bursts_in_review import _frame

pytestmark = pytest.mark.django_db(transaction=True)


def _visible(page) -> list[str]:
    return page.eval_on_selector_all(".photo-card", "els => els.filter(e => e.offsetParent !== null)"
                                                    ".map(e => e.querySelector('.fname').textContent)")


def test_a_burst_folds_under_its_best_frame_and_opens(page, phone, server_url):
    alice = make_user("alice@example.com")
    session = make_session(alice, title="Burst")
    for name, data in (("IMG_0001.JPG", _frame(1)), ("IMG_0002.JPG", _frame(1, 1)), ("IMG_0003.JPG", _frame(1, 2)),
                       ("IMG_0004.JPG", _frame(2))):
        classifier_services.photo_process(photo_id=make_photo(session, name=name, data=data).id)
    log_in(page, server_url, alice.email)
    open_review(page, server_url, session, "?sort=name")
    shown = _visible(page)
    assert len(shown) == 2 and "IMG_0004.JPG" in shown  # the best of the burst and the single frame
    assert page.is_visible(".burst-badge:has-text('best of 3')")
    shot(page, "review-burst-folded-desktop.png", full_page=True)
    page.click("[data-stack-toggle]")
    assert sorted(_visible(page)) == ["IMG_0001.JPG", "IMG_0002.JPG", "IMG_0003.JPG", "IMG_0004.JPG"]
    assert page.text_content("[data-stack-toggle]").endswith("fold")
    shot(page, "review-burst-open-desktop.png", full_page=True)
    page.click("[data-stack-toggle]")
    assert len(_visible(page)) == 2

    # ] steps through the burst's frames, opening it; [ goes back.
    best = page.eval_on_selector(".photo-card.is-current .fname", "el => el.textContent")
    assert best == shown[0]  # the first card by name is the burst's best frame
    page.keyboard.press("]")
    assert len(_visible(page)) == 4
    second = page.eval_on_selector(".photo-card.is-current .fname", "el => el.textContent")
    assert second != best and second != "IMG_0004.JPG"
    page.keyboard.press("[")
    assert page.eval_on_selector(".photo-card.is-current .fname", "el => el.textContent") == best

    log_in(phone, server_url, alice.email)
    open_review(phone, server_url, session, "?sort=name")
    assert len(_visible(phone)) == 2
    shot(phone, "review-burst-phone.png", full_page=True)
