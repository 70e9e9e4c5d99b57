"""The culling loupe in a real browser: keyboard walk of 100 photos with the next photo ready in <= 100 ms,
keep/reject with P/X, the eyes at 100 %, compare two frames, and "looked at" reported to the server."""
from __future__ import annotations

import logging
import statistics

import pytest

from classifier.models import Correction
from sessions_app.models import Photo
from tests.browser.helpers import idle, log_in, open_review, shot
from tests.browser.photos import face_pictures, make_shoot_photo
from tests.conftest import PERF_BUDGETS
from tests.factories import make_session, make_user

logger = logging.getLogger(__name__)

pytestmark = pytest.mark.django_db(transaction=True)


def _in_loupe(page) -> str:
    return page.get_attribute("#loupe", "data-photo")


def _wait_shown(page, photo_uuid: str) -> None:
    page.wait_for_function(
        "id => { const l = document.getElementById('loupe'); return l.dataset.photo === id && l.dataset.ready === '1'; }",
        arg=photo_uuid)


def test_the_loupe_walks_100_photos_with_the_keyboard(page, server_url):
    alice = make_user("alice@example.com")
    session = make_session(alice, title="Loupe walk")
    opened, closed = face_pictures("open"), face_pictures("closed")
    photos = []
    for i in range(100):
        blink = i % 10 == 0
        pool = closed if blink else opened
        p = (0.93, 0.9) if blink else (0.06, 0.08)
        photos.append(make_shoot_photo(session, name=f"IMG_{i:04d}.JPG", seed=i, size=(900, 600),
                                       faces=[(pool[i % len(pool)], *p)]))
    log_in(page, server_url, alice.email)
    open_review(page, server_url, session, "?sort=name")
    order = page.eval_on_selector_all(".photo-card", "els => els.map(e => e.dataset.photo)")  # the grid's order
    assert sorted(order) == sorted(str(p.uuid) for p in photos)
    page.keyboard.press("l")
    _wait_shown(page, order[0])
    assert page.is_visible("#loupe .loupe-img") and page.is_visible("#loupe .loupe-zoom img")

    steps = []
    for photo_uuid in order[1:]:
        if PERF_BUDGETS:
            page.wait_for_timeout(150)  # a photographer's glance at each photo: the prefetch's time
        page.keyboard.press("ArrowRight")
        _wait_shown(page, photo_uuid)
        steps.append(int(page.get_attribute("#loupe", "data-last-ms")))
    steps.sort()
    p95 = steps[int(0.95 * len(steps)) - 1]
    logger.warning("loupe: 99 steps, median %d ms, p95 %d ms, max %d ms", statistics.median(steps), p95, steps[-1])
    if PERF_BUDGETS:  # a speed target, not behaviour: only on a quiet machine that asks for it
        assert p95 <= 100, steps  # prefetched: a step swaps in a part whose images are already decoded
    assert page.text_content("#loupe .loupe-title") == "IMG_0099.JPG"  # the last of the Not blinking group

    # The server heard what was shown (in batches), not what was only prefetched.
    page.keyboard.press("g")  # back to the grid; the last batch goes out shortly after
    page.wait_for_function("document.getElementById('agreement').textContent.includes('You looked at 100 of 100')")
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "review-grid.png")
    assert Photo.objects.filter(session=session, seen=True).count() == 100


def test_loupe_keys_keep_reject_zoom_and_compare(page, server_url):
    alice = make_user("alice@example.com")
    session = make_session(alice, title="Loupe keys")
    closed, opened = face_pictures("closed"), face_pictures("open")
    a = make_shoot_photo(session, name="A.JPG", faces=[(closed[0], 0.95, 0.92)], seed=1)
    b = make_shoot_photo(session, name="B.JPG", faces=[(opened[0], 0.05, 0.07)], seed=2)
    c = make_shoot_photo(session, name="C.JPG", seed=3,
                         faces=[(opened[1], 0.04, 0.05), (closed[1], 0.9, 0.97), (opened[2], 0.1, 0.06)])
    log_in(page, server_url, alice.email)
    open_review(page, server_url, session, "?sort=name")
    page.keyboard.press("l")
    _wait_shown(page, str(a.uuid))

    # Z: the eyes at true 100% (the crop's own pixel size), Z again: fitted to the panel.
    page.keyboard.press("z")
    natural = page.eval_on_selector("#loupe-current .loupe-zoom img", "i => [i.naturalWidth, i.getBoundingClientRect().width]")
    assert natural[0] == round(natural[1])
    page.keyboard.press("z")

    # The order is the grid's: Blinking (A, C), then Not blinking (B).
    page.keyboard.press("p")  # keep A (the model said blinking) -> moves on to C
    _wait_shown(page, str(c.uuid))
    # The group photo's three faces each get a close-up big enough to read, not a thin strip.
    sizes = page.eval_on_selector_all("#loupe-current .loupe-zoom img", "els => els.map(i => i.getBoundingClientRect().toJSON())")
    assert len(sizes) == 3 and all(s["width"] >= 250 and s["height"] >= 80 for s in sizes), sizes
    shot(page, "review-loupe.png")
    page.keyboard.press("ArrowRight")
    _wait_shown(page, str(b.uuid))
    page.keyboard.press("x")  # reject B
    idle(page)
    assert [(x.photo.original_filename, x.label) for x in Correction.objects.order_by("id")] == [
        ("A.JPG", "NOT_BLINKING"), ("B.JPG", "BLINKING")]
    _wait_shown(page, str(b.uuid))  # the loupe shows B's new state (the last photo: nowhere to move on to)
    assert page.text_content("#loupe-current .verdict-pill") == "Blinking"

    # C: pin B, go back to A: both side by side.
    page.keyboard.press("c")
    page.wait_for_selector("#review.is-compare #loupe-pinned .loupe-img")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    _wait_shown(page, str(a.uuid))
    pinned = page.eval_on_selector("#loupe-pinned .loupe-stage", "e => e.getBoundingClientRect().toJSON()")
    current = page.eval_on_selector("#loupe-current .loupe-stage", "e => e.getBoundingClientRect().toJSON()")
    assert pinned["right"] <= current["left"] + 1 and abs(pinned["top"] - current["top"]) < 2  # side by side
    assert page.text_content("#loupe-pinned .loupe-title") == "B.JPG"
    assert page.text_content("#loupe-current .loupe-title") == "A.JPG"
    shot(page, "review-compare.png")
    page.keyboard.press("c")
    assert "is-compare" not in page.get_attribute("#review", "class")
    page.keyboard.press("g")
    assert page.is_hidden("#loupe")
