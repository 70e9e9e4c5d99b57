"""Phones: no page wider than the screen at 360 and 390 px, a top menu that fits, no keyboard hints on touch,
and the loupe by tap and swipe: keep, reject, next photo, the eyes at 100 %."""
from __future__ import annotations

import pytest

from classifier.models import Correction
from sessions_app.models import Export
from tests.browser.helpers import idle, log_in, open_review, shot
from tests.browser.photos import face_pictures, make_shoot_photo
from tests.factories import make_client, make_session, make_user
from tests.review_builders import make_unique_photo

pytestmark = pytest.mark.django_db(transaction=True)

OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


def _shoot(alice):
    session = make_session(alice, title="Phone shoot with a rather long session title", client=make_client(alice))
    closed, opened = face_pictures("closed"), face_pictures("open")
    photos = [
        make_shoot_photo(session, name="IMG_0001.JPG", faces=[(closed[3], 0.94, 0.9)], seed=11),
        make_shoot_photo(session, name="IMG_0002.JPG", seed=12,
                         faces=[(opened[4], 0.05, 0.04), (closed[5], 0.92, 0.97), (opened[6], 0.08, 0.05)]),
        make_shoot_photo(session, name="IMG_0003.JPG", faces=[(opened[7], 0.04, 0.06)], seed=13),
        make_shoot_photo(session, name="IMG_0004.JPG", faces=[(opened[8], 0.03, 0.05)], seed=14),
    ]
    make_unique_photo(session, name="BROKEN_FILE_WITH_A_LONG_NAME_0005.JPG", status="failed", error="file is truncated")
    return session, photos


def _swipe(page, dx: int, dy: int) -> None:
    """A one-finger swipe on the loupe's photo (touch events, as a phone's browser sends them)."""
    page.evaluate("""([dx, dy]) => {
        const stage = document.querySelector('#loupe-current .loupe-stage');
        const r = stage.getBoundingClientRect();
        const x = r.left + r.width / 2, y = r.top + r.height / 2;
        const touch = (cx, cy) => new Touch({identifier: 1, target: stage, clientX: cx, clientY: cy});
        stage.dispatchEvent(new TouchEvent('touchstart', {bubbles: true, touches: [touch(x, y)], changedTouches: [touch(x, y)]}));
        stage.dispatchEvent(new TouchEvent('touchend', {bubbles: true, touches: [], changedTouches: [touch(x + dx, y + dy)]}));
    }""", [dx, dy])


@pytest.mark.parametrize("width", [360, 390])
def test_no_page_is_wider_than_a_phone(phone, server_url, width):
    phone.set_viewport_size({"width": width, "height": 844})
    alice = make_user("alice@example.com", name="Alice Photographer")
    session, photos = _shoot(alice)
    Export.objects.create(session=session, format=Export.Format.CSV, requested_by=alice)
    phone.goto(f"{server_url}/accounts/login/")
    assert phone.evaluate(OVERFLOW) <= 0
    log_in(phone, server_url, alice.email)
    pages = ["/", "/clients/", f"/clients/{session.client.uuid}/", f"/sessions/{session.uuid}/",
             f"/sessions/{session.uuid}/review/", f"/sessions/{session.uuid}/exports/",
             f"/photos/{photos[1].uuid}/lightbox/", "/sessions/new/", "/no/such/page/"]
    for path in pages:
        phone.goto(server_url + path)
        phone.wait_for_load_state("load")
        assert phone.evaluate(OVERFLOW) <= 0, f"{path} is wider than {width} px"
        logout = phone.eval_on_selector(".topbar button.linkish", "b => b.getBoundingClientRect().toJSON()")
        assert logout["right"] <= width and logout["left"] >= 0, path  # the whole top menu fits
    open_review(phone, server_url, session)
    phone.tap(f"#card-{photos[1].uuid} .thumb")  # on a phone a tap opens the loupe
    phone.wait_for_selector("#loupe[data-ready='1']")
    assert phone.evaluate(OVERFLOW) <= 0, "the loupe is wider than the phone"


def test_touch_review_by_tap_and_swipe_without_keyboard_hints(phone, server_url):
    alice = make_user("alice@example.com")
    session, photos = _shoot(alice)
    log_in(phone, server_url, alice.email)
    open_review(phone, server_url, session, "?sort=name")
    # The cards' buttons say what they do, with no B/K key hints a phone can't press.
    hints = phone.eval_on_selector_all("kbd", "els => els.filter(e => e.offsetParent !== null).length")
    assert hints == 0
    assert phone.is_visible(f"#card-{photos[0].uuid} button.act-keep")
    height = phone.evaluate("document.documentElement.scrollHeight")
    assert height < 4000, height  # compact cards, two a row: not 27,000 px of single cards
    shot(phone, "review-phone-grid.png")

    phone.tap(f"#card-{photos[0].uuid} .thumb")
    phone.wait_for_selector(f"#loupe[data-photo='{photos[0].uuid}'][data-ready='1']")
    assert phone.is_visible("#loupe-current .loupe-zoom img")  # the face close-ups are reachable on touch
    assert phone.is_visible("#loupe-current .touch-hint") and not phone.is_visible("#loupe-current .key-hint")
    shot(phone, "review-phone.png")

    phone.tap("#loupe-current [data-loupe-label='NOT_BLINKING']")  # tap Keep: IMG_0001 kept, on to the next
    phone.wait_for_selector(f"#loupe[data-photo='{photos[1].uuid}'][data-ready='1']")
    _swipe(phone, -150, 5)  # swipe left: the next photo without deciding
    phone.wait_for_selector(f"#loupe[data-photo='{photos[2].uuid}'][data-ready='1']")
    _swipe(phone, 0, 180)  # swipe down: reject
    phone.wait_for_selector(f"#loupe[data-photo='{photos[3].uuid}'][data-ready='1']")
    idle(phone)
    assert [(c.photo.original_filename, c.label) for c in Correction.objects.order_by("id")] == [
        ("IMG_0001.JPG", "NOT_BLINKING"), ("IMG_0003.JPG", "BLINKING")]
    phone.tap("#loupe-current [data-zoom]")  # a tap shows the eyes at 100%
    assert "is-100" in phone.get_attribute("#loupe-current [data-zoom]", "class")
