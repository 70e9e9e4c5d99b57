"""The standalone lightbox page, the 100% eye zoom, the sticky review header and the export form, in a real browser.

Photos and predictions are made directly (no ML run); the zoom is cut from a real 3000x2000 original.
"""
from __future__ import annotations

import pytest

from tests.factories import jpeg_bytes, make_session, make_user
from tests.review_builders import BLINK, OPEN, face, make_judged_photo

pytestmark = pytest.mark.django_db(transaction=True)


def _log_in(page, base_url: str, user) -> None:
    from django.test import Client

    c = Client()
    c.force_login(user)
    page.context.add_cookies([{"name": "sessionid", "value": c.cookies["sessionid"].value, "url": base_url}])


def _wait_until(page, predicate: str, timeout: float = 20.0) -> None:
    """Poll `predicate` from the test (page.evaluate): the strict CSP refuses wait_for_function's eval."""
    import time

    deadline = time.monotonic() + timeout
    while not page.evaluate(predicate):
        assert time.monotonic() < deadline, f"timed out waiting for {predicate}"
        page.wait_for_timeout(100)


def test_lightbox_page_keys_and_eyes_at_true_100_percent(page, server_url):
    alice = make_user("alice@example.com")
    session = make_session(alice, title="Zoom")
    big = jpeg_bytes(size=(3000, 2000), color=(90, 60, 40), comment=b"zoom test")
    photos = [
        make_judged_photo(session, faces=BLINK, name="A.JPG", data=big, width=3000, height=2000),
        make_judged_photo(session, faces=OPEN, name="B.JPG", width=3000, height=2000),
        make_judged_photo(session, faces=OPEN, name="C.JPG", width=3000, height=2000),
    ]
    _log_in(page, server_url, alice)
    page.goto(f"{server_url}/photos/{photos[0].uuid}/lightbox/?sort=name")

    # First view: a worker cuts the crop (here the test does the worker's job); the page shows "Preparing"
    # meanwhile and swaps the crop in by itself once it is there.
    from classifier.services import eye_zoom_make

    page.wait_for_selector("figure.zoom-pending")
    eye_zoom_make(photo_id=photos[0].id, model_version_id=photos[0].predictions.get().model_version_id, face_index=0)
    # The eyes crop is drawn at its own pixel size, inside a box that scrolls and starts centred.
    _wait_until(page, "() => { const i = document.querySelector('.lb-zoom-box img'); "
                      "return !!i && i.src.includes('ready=1') && i.complete && i.naturalWidth > 0; }")
    _wait_until(page, "() => document.querySelector('.lb-zoom-box').scrollLeft > 0")
    zoom = page.eval_on_selector(".lb-zoom-box img", """img => {
        const box = img.parentElement;
        return {natural: img.naturalWidth, shown: img.getBoundingClientRect().width, boxWidth: box.clientWidth,
                scrollLeft: box.scrollLeft, scrollTop: box.scrollTop,
                natH: img.naturalHeight, boxHeight: box.clientHeight,
                overflow: getComputedStyle(box).overflow, eyes: img.dataset.eyes || ""};
    }""")
    assert zoom["natural"] > zoom["boxWidth"]  # a real 100% crop is wider than the sidebar...
    assert zoom["shown"] == pytest.approx(zoom["natural"], abs=0.5)  # ...and is not scaled down to fit
    assert zoom["overflow"] == "auto"
    # It starts scrolled to the eyes (the first listed, the more closed one, at least), not to the cheek.
    u, v = (float(x) for x in zoom["eyes"].split(";")[0].split(","))
    assert zoom["scrollLeft"] <= u * zoom["natural"] <= zoom["scrollLeft"] + zoom["boxWidth"]
    assert zoom["scrollTop"] <= v * zoom["natH"] <= zoom["scrollTop"] + zoom["boxHeight"]
    assert page.get_attribute('.lb-actions button[value="BLINKING"]', "aria-pressed") == "true"

    # The hint's keys work on this page: arrows go through the review order, Esc back to the review.
    page.keyboard.press("ArrowRight")
    page.wait_for_url(f"**/photos/{photos[1].uuid}/lightbox/?sort=name")
    assert page.text_content(".lb-title") == "B.JPG"
    page.keyboard.press("ArrowLeft")
    page.wait_for_url(f"**/photos/{photos[0].uuid}/lightbox/?sort=name")
    page.keyboard.press("Escape")
    page.wait_for_url(f"**/sessions/{session.uuid}/review/?sort=name#card-{photos[0].uuid}")


def test_group_headings_land_below_the_sticky_review_header(page, server_url):
    alice = make_user("alice@example.com")
    session = make_session(alice, title="Long shoot")
    for i in range(40):
        make_judged_photo(session, faces=[face(0.95, 0.9, crop=False)] if i < 30 else [face(0.05, 0.1, crop=False)],
                          name=f"IMG_{i:04d}.JPG")
    _log_in(page, server_url, alice)
    page.goto(f"{server_url}/sessions/{session.uuid}/review/")
    page.wait_for_selector("body[data-review-ready='1']")
    page.click('.review-counts a[href="#not-blinking"]')
    page.wait_for_function("window.scrollY > 0")
    page.wait_for_selector("#review[data-settled='1']")  # aimed again once the cards on screen have their size
    assert page.url.endswith("#not-blinking")
    head_bottom = page.eval_on_selector(".review-head", "el => el.getBoundingClientRect().bottom")
    heading_top = page.eval_on_selector("#not-blinking h2", "el => el.getBoundingClientRect().top")
    assert heading_top >= head_bottom - 1, (heading_top, head_bottom)
    assert heading_top < head_bottom + 100  # and the jump really brought it to the top


def test_xmp_options_show_only_for_xmp_exports(page, server_url):
    alice = make_user("alice@example.com")
    session = make_session(alice, title="Export")
    make_judged_photo(session, faces=OPEN, name="IMG_0001.JPG")
    _log_in(page, server_url, alice)
    page.goto(f"{server_url}/sessions/{session.uuid}/exports/")
    page.wait_for_selector(".export-form")
    assert page.is_hidden(".xmp-options")  # keepers ZIP is the default format
    page.check('input[name="format"][value="xmp"]')
    assert page.is_visible(".xmp-options")
    # The sidecar-name choice is readable in full.
    fits = page.eval_on_selector('select[name="xmp_naming"]', "el => el.scrollWidth <= el.clientWidth + 1")
    assert fits
    page.check('input[name="format"][value="csv"]')
    assert page.is_hidden(".xmp-options")


@pytest.mark.parametrize("path", ["/clients/new/", "/sessions/new/"])
def test_form_labels_sit_above_their_fields(page, server_url, path):
    alice = make_user("alice@example.com")
    _log_in(page, server_url, alice)
    page.goto(server_url + path)
    pairs = page.eval_on_selector_all(".form-panel form p > label:not(.visually-hidden)", """labels => labels.map(l => {
        const field = document.getElementById(l.htmlFor);
        return {name: l.htmlFor, labelBottom: l.getBoundingClientRect().bottom,
                fieldTop: field.getBoundingClientRect().top,
                labelLeft: l.getBoundingClientRect().left, fieldLeft: field.getBoundingClientRect().left};
    })""")
    assert len(pairs) >= 2
    for p in pairs:
        assert p["labelBottom"] <= p["fieldTop"] + 1, p  # stacked, like the sign-up form (Notes included)
        assert p["labelLeft"] == pytest.approx(p["fieldLeft"], abs=1), p
