"""State that is always true, in a real browser, on a desktop and on a 390x844 phone: Back/Forward after
corrections, undo after a reload, and a per-face correction read the same on the card, in the lightbox,
in the CSV and in the XMP sidecars."""
from __future__ import annotations

import csv
import io
import zipfile

import pytest

from classifier.models import Correction
from tests.browser.helpers import idle, log_in, open_review
from tests.factories import make_session, make_user
from tests.review_builders import BLINK, OPEN, face, make_judged_photo

pytestmark = pytest.mark.django_db(transaction=True)

VIEWPORTS = ["page", "phone"]


def _blink():
    return [face(0.95, 0.9, crop=False)]


def _open():
    return [face(0.05, 0.1, crop=False)]


def _card_class(page, photo) -> str:
    return page.get_attribute(f"#card-{photo.uuid}", "class")


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_back_and_forward_after_corrections_show_the_truth(request, server_url, viewport):
    page = request.getfixturevalue(viewport)
    alice = make_user("alice@example.com")
    session = make_session(alice, title="History shoot")
    photos = [make_judged_photo(session, faces=_blink() if i < 3 else _open(), name=f"IMG_{i:04d}.JPG") for i in range(6)]
    log_in(page, server_url, alice.email)
    page.goto(f"{server_url}/sessions/{session.uuid}/")
    assert page.text_content(".group-blink .n") == "3"
    page.click(".actions a.btn-primary")  # Review
    page.wait_for_selector("body[data-review-ready='1']")
    page.click(f"#card-{photos[0].uuid} button.act-keep")  # keep a flagged one (works by tap too)
    page.wait_for_selector(f"#card-{photos[0].uuid}.v-not_blinking")
    idle(page)

    page.go_back()  # the session page: its counts are the new ones, not the cached page's
    page.wait_for_selector(".group-blink .n")
    assert page.text_content(".group-blink .n") == "2"
    page.go_forward()  # the review: the corrected photo is a keeper, not "Blinking again"
    page.wait_for_selector("body[data-review-ready='1']")
    assert "v-not_blinking" in _card_class(page, photos[0])
    assert page.text_content("#count-blinking") == "2"


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_undo_after_a_reload_undoes_the_last_change(request, server_url, viewport):
    page = request.getfixturevalue(viewport)
    alice = make_user("alice@example.com")
    session = make_session(alice, title="Undo shoot")
    photos = [make_judged_photo(session, faces=_blink() if i < 4 else _open(), name=f"IMG_{i:04d}.JPG") for i in range(6)]
    log_in(page, server_url, alice.email)
    open_review(page, server_url, session, "?sort=name")
    page.click(f"#card-{photos[5].uuid} button.act-blink")  # a missed blink
    page.wait_for_selector(f"#card-{photos[5].uuid}.v-blinking")
    # A bulk change: select two flagged photos, keep both (the bulk bar on a desktop; keys work too).
    page.evaluate("ids => ids.forEach(id => { const b = document.querySelector(`input[name=photos][value='${id}']`); b.checked = true; })",
                  [str(photos[0].uuid), str(photos[1].uuid)])
    page.evaluate("document.getElementById('review').focus()")
    page.keyboard.press("Shift+K")
    page.wait_for_selector(f"#card-{photos[1].uuid}.v-not_blinking")
    idle(page)

    page.reload()  # a fresh page knows nothing: the server's history decides what U undoes
    page.wait_for_selector("body[data-review-ready='1']")
    page.keyboard.press("u")
    page.wait_for_function("document.getElementById('review-status').textContent.includes('Undone:')")
    assert page.text_content("#review-status").strip() == "Undone: 2 photos marked keep."
    assert "v-blinking" in _card_class(page, photos[0]) and "v-blinking" in _card_class(page, photos[1])
    assert "v-blinking" in _card_class(page, photos[5])  # the older change stays

    page.reload()
    page.wait_for_selector("body[data-review-ready='1']")
    page.keyboard.press("u")
    page.wait_for_function("document.getElementById('review-status').textContent.includes('IMG_0005')")
    assert page.text_content("#review-status").strip() == "Undone: IMG_0005.JPG marked blinking."
    assert "v-not_blinking" in _card_class(page, photos[5])
    assert Correction.objects.filter(undoes__isnull=False).count() == 3  # append-only: nothing deleted


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_face_correction_reads_the_same_on_card_lightbox_csv_and_xmp(request, server_url, viewport):
    page = request.getfixturevalue(viewport)
    alice = make_user("alice@example.com")
    session = make_session(alice, title="Group shoot")
    group = make_judged_photo(session, name="GROUP.JPG",
                              faces=[face(0.05, 0.05, crop=False), face(0.9, 0.95, size_px=390, crop=False),
                                     face(0.1, 0.1, crop=False), face(0.08, 0.1, crop=False)])
    make_judged_photo(session, faces=OPEN, name="OTHER.JPG")
    log_in(page, server_url, alice.email)
    open_review(page, server_url, session)
    card = f"#card-{group.uuid}"
    if viewport == "phone":  # on a phone the face buttons are in the loupe: tap the photo, then "face 2 fine"
        page.tap(f"{card} .thumb")
        page.wait_for_selector("#loupe[data-ready='1'] .loupe-face")
        page.tap("#loupe-current [data-face-label='NOT_BLINKING'][data-face='1']")
    else:
        page.keyboard.press("f")  # the blinking face (face 2) is picked first
        page.keyboard.press("k")
    page.wait_for_selector(f"{card}.v-not_blinking")
    idle(page)

    sentence = "face 2: fine, your call (the model read right eye closed (0.95), left eye closed (0.90)); no other face blinking"
    assert page.text_content(f"{card} .reason") == sentence
    assert page.text_content(f"{card} .human-badge") == "face 2: yours"  # not "confirmed": nothing was
    shown = page.eval_on_selector_all(f"{card} .faces > .face", "els => els.map(e => e.dataset.face)")
    assert shown[0] == "1"  # face 2 keeps its place at the top, not folded into "more faces"

    lightbox = page.request.get(f"{server_url}/photos/{group.uuid}/lightbox/").text()
    assert sentence in lightbox and "you: fine" in lightbox

    page.goto(f"{server_url}/sessions/{session.uuid}/exports/")
    rows = {}
    for fmt in ("csv", "xmp"):
        page.goto(f"{server_url}/sessions/{session.uuid}/exports/")
        page.check(f"input[name='format'][value='{fmt}']")
        page.click(".export-form button[type=submit]")
        page.wait_for_selector("a:has-text('Download')")
        body = page.request.get(server_url + page.get_attribute("a:has-text('Download')", "href")).body()
        if fmt == "csv":
            rows = {r["file_name"]: r for r in csv.DictReader(io.StringIO(body.decode("utf-8-sig")))}
        else:
            with zipfile.ZipFile(io.BytesIO(body)) as z:
                sidecar = z.read("GROUP.xmp").decode()
    assert (rows["GROUP.JPG"]["verdict"], rows["GROUP.JPG"]["reason"]) == ("NOT_BLINKING", sentence)
    assert 'xmp:Rating="0"' in sidecar and "Red" not in sidecar  # a keeper in Lightroom too
