"""The "Check these" group on drawn photos, on a laptop and a phone: uncertain verdicts wait for a person,
say why, and read openness in words; a decision moves the photo out. Saves docs/screenshots/review-check*.png
on request (EYESPY_SCREENSHOT_DIR)."""
from __future__ import annotations

import pytest

from tests.browser.helpers import idle, log_in, open_review, shot
from tests.browser.photos import face_pictures, make_shoot_photo
from tests.factories import make_session, make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("viewport", ["page", "phone"])
def test_uncertain_photos_wait_in_check_these_with_their_reason(request, server_url, viewport):
    page = request.getfixturevalue(viewport)
    alice = make_user("alice@example.com")
    session = make_session(alice, title="Squints and smiles")
    opened, closed = face_pictures("open"), face_pictures("closed")
    shoot = [("IMG_0001.JPG", opened[0], 0.42, 0.12), ("IMG_0002.JPG", opened[1], 0.05, 0.58),
             ("IMG_0003.JPG", closed[2], 0.95, 0.92), ("IMG_0004.JPG", opened[3], 0.03, 0.04),
             ("IMG_0005.JPG", opened[4], 0.06, 0.02)]
    photos = {name: make_shoot_photo(session, name=name, faces=[(pic, left, right)], seed=i, size=(1200, 800))
              for i, (name, pic, left, right) in enumerate(shoot)}
    log_in(page, server_url, alice.email)
    open_review(page, server_url, session, "?sort=name")

    in_check = page.eval_on_selector_all("#check .photo-card .fname", "els => els.map(e => e.textContent)")
    assert in_check == ["IMG_0001.JPG", "IMG_0002.JPG"]
    why = page.text_content(f"#card-{photos['IMG_0002.JPG'].uuid} .check-why")
    assert why.startswith("Check: near the cut-off (main face right eye 42% open)"), why
    assert page.text_content("#count-check") == "2" and page.text_content("#count-blinking") == "1"
    shot(page, "review-check.png" if viewport == "page" else "review-check-phone.png")

    page.click(f"#card-{photos['IMG_0001.JPG'].uuid} button.act-keep")  # a person decides: out of the group
    idle(page)
    page.wait_for_function("document.getElementById('count-check').textContent === '1'")
    assert page.text_content("#count-not_blinking") == "3"
