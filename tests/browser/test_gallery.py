"""Issue 9's story in a real browser, on a laptop and on a phone (390x844):

the photographer creates a gallery from a session's keepers with a password and "your package includes 3",
copies the link; the client opens it, gets the password wrong then right, hearts photos until the limit
stops the extra one with a message, opens the lightbox (keys on the laptop, a swipe on the phone), leaves a
note, un-hearts from the lightbox, sends the selection after a confirmation and finds it locked; the
photographer sees Jane's selection with a badge, exports the picks as CSV and XMP, and exiftool reads the
pick label back from the sidecars. Screenshots of the client gallery: docs/gallery-*.png.
"""
from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.db import transaction

from galleries import previews, services
from sessions_app.models import Gallery, Selection
from tests.browser.helpers import shot
from tests.conftest import require
from tests.factories import make_session, make_user
from tests.gallery_builders import GUEST_PASSWORD
from tests.gallery_pictures import VIEWPORTS, give_preview, jpeg, picture
from tests.review_builders import BLINK, OPEN, make_judged_photo

pytestmark = pytest.mark.django_db(transaction=True)

KEEPERS = 9


@pytest.fixture(autouse=True)
def previews_in_process(monkeypatch):
    """The `exports` worker's job, run right after the commit in the live server's thread (no broker)."""
    def enqueue(*, gallery):
        gallery_id = gallery.id
        transaction.on_commit(lambda: previews.gallery_previews_build(gallery_id=gallery_id))

    monkeypatch.setattr(services, "gallery_previews_enqueue", enqueue)


def _log_in(context, base_url: str, user) -> None:
    from django.test import Client

    c = Client()
    c.force_login(user)
    context.add_cookies([{"name": "sessionid", "value": c.cookies["sessionid"].value, "url": base_url}])


def _shoot():
    alice = make_user("alice@studio.example", name="Alice", studio_name="Studio Nord")
    session = make_session(alice, title="Smith family")
    for n in range(KEEPERS):
        image = picture(n)
        photo = make_judged_photo(session, faces=OPEN, name=f"IMG_{n + 1:04d}.JPG", data=jpeg(image),
                                  width=image.width, height=image.height)
        give_preview(photo, image)
    for n in range(2):
        make_judged_photo(session, faces=BLINK, name=f"IMG_90{n}.JPG")
    return alice, session


def _swipe(page, selector: str, dx: int) -> None:
    """A horizontal finger swipe (Playwright has taps, not swipes): touch events with real Touch objects."""
    page.eval_on_selector(selector, """(el, dx) => {
        const r = el.getBoundingClientRect(), y = r.top + r.height / 2, x0 = r.left + r.width / 2;
        const t = (x) => new Touch({identifier: 1, target: el, clientX: x, clientY: y});
        el.dispatchEvent(new TouchEvent('touchstart', {touches: [t(x0)], changedTouches: [t(x0)], bubbles: true}));
        el.dispatchEvent(new TouchEvent('touchend', {touches: [], changedTouches: [t(x0 + dx)], bubbles: true}));
    }""", dx)


@pytest.mark.parametrize("device", list(VIEWPORTS))
def test_the_whole_gallery_story(chromium, server_url, tmp_path, device):
    alice, session = _shoot()
    # bypass_csp: wait_for_function evals its string (see tests/browser/conftest.py `page`).
    studio = chromium.new_context(viewport={"width": 1300, "height": 900}, accept_downloads=True, bypass_csp=True)
    _log_in(studio, server_url, alice)
    admin = studio.new_page()
    admin.set_default_timeout(15_000)

    # --- The photographer creates the gallery from the session's keepers ---
    admin.goto(f"{server_url}/sessions/{session.uuid}/")
    admin.click("text=Share a gallery")
    assert admin.is_checked('input[name=source][value=keepers]')
    admin.fill("input[name=title]", "Smith family, spring")
    admin.fill("textarea[name=message]", "Choose the 3 photos for your prints. Take your time!")
    admin.fill("input[name=password]", GUEST_PASSWORD)
    admin.fill("input[name=min_picks]", "1")
    admin.fill("input[name=max_picks]", "3")
    admin.click("button:has-text('Create gallery')")
    admin.wait_for_url("**/galleries/*/")
    gallery = Gallery.objects.get()
    assert gallery.items.count() == KEEPERS  # the two blinks stayed out
    assert f"Previews: {KEEPERS} of {KEEPERS} ready" in admin.text_content("#share")
    if device == "desktop":  # reorder by keys: the first photo one place to the right (Alt+→), then save
        first = admin.get_attribute("#ga-order .ga-item >> nth=0", "data-key")
        admin.focus("#ga-order .ga-item >> nth=0")
        admin.keyboard.press("Alt+ArrowRight")
        assert admin.get_attribute("#ga-order .ga-item >> nth=1", "data-key") == first
        admin.click("#ga-arrange button[type=submit]")
        admin.wait_for_url("**/galleries/*/")
        assert str(gallery.items.order_by("position")[1].uuid) == first
        admin.focus("#ga-order .ga-item >> nth=1")
        admin.keyboard.press("Alt+ArrowLeft")  # and back, so the photo numbers below stay IMG_0001 first
        admin.click("#ga-arrange button[type=submit]")
        admin.wait_for_url("**/galleries/*/")
        assert str(gallery.items.order_by("position")[0].uuid) == first
    link = admin.input_value("#ga-url")
    assert link.endswith(f"/g/{gallery.token}/")
    admin.click("#ga-copy")
    admin.wait_for_selector("#ga-copy:has-text('Copied')")

    # --- The client opens the link on their device ---
    guest_ctx = chromium.new_context(**VIEWPORTS[device], bypass_csp=True)
    guest = guest_ctx.new_page()
    guest.set_default_timeout(15_000)
    guest.goto(server_url + urlparse(link).path)  # the link is built on SITE_URL; the test server has its own port
    guest.fill("input[name=name]", "Jane Smith")
    guest.fill("input[name=email]", "jane@example.com")
    guest.fill("input[name=password]", "wrong-one")
    guest.click("button:has-text('Open the gallery')")
    assert "That password isn" in guest.text_content(".g-error")
    guest.fill("input[name=name]", "Jane Smith")
    guest.fill("input[name=email]", "jane@example.com")
    guest.fill("input[name=password]", GUEST_PASSWORD)
    guest.click("button:has-text('Open the gallery')")
    guest.wait_for_selector(".g-tile img")
    assert guest.locator(".g-tile").count() == KEEPERS
    assert guest.text_content(".g-count").split() == ["0", "of", "3", "selected"]
    html = guest.content()
    assert "IMG_" not in html and "BLINK" not in html.upper().replace("NOT-BLINK", "")  # no names, no labels
    # Right-sized previews: a tile asks for a small variant, never the 1600 px one.
    guest.wait_for_function("Array.from(document.querySelectorAll('.g-tile img')).slice(0, 4)"
                            ".every(i => i.complete && i.currentSrc)")
    srcs = guest.eval_on_selector_all(".g-tile img", "els => els.slice(0, 4).map(e => e.currentSrc)")
    # The cover's photo may show its 1600 px variant: the cover (sizes=100vw) already fetched it, and Chrome
    # takes a larger candidate it holds in memory instead of fetching a smaller one.
    cover = guest.eval_on_selector_all(".g-cover img", "els => els.map(e => e.currentSrc)")
    fetched = [s for s in srcs if s not in cover]
    assert fetched and all(re.search(r"/(480|960)\.jpg$", s) for s in fetched), (srcs, cover)

    # Hearts, up to the limit; the fourth is refused with the package message.
    hearts = guest.locator(".g-tile .g-heart")
    for i in range(3):
        hearts.nth(i).click()
        guest.wait_for_function(f"document.getElementById('g-count').textContent === '{i + 1}'")
    hearts.nth(3).click()
    guest.wait_for_selector("#g-bar.is-warn")
    assert "Your package includes 3 favourites" in guest.text_content("#g-msg")
    assert hearts.nth(3).get_attribute("aria-pressed") == "false"
    assert guest.text_content("#g-count") == "3"
    guest.evaluate("window.scrollTo(0, document.querySelector('.g-tools').getBoundingClientRect().top + scrollY - 12)")
    guest.wait_for_function("Array.from(document.querySelectorAll('.g-tile img')).every(i => !i.src || i.complete)")
    shot(guest, f"gallery-{device}.png")

    # The lightbox: next photo by key (laptop) or swipe (phone), a note, un-heart from inside.
    guest.locator(".g-open").nth(0).click()
    guest.wait_for_selector("#g-lightbox:not([hidden])")
    assert guest.text_content("#g-lb-pos") == f"1 / {KEEPERS}"
    if device == "phone":
        _swipe(guest, "#g-lb-stage", -160)
    else:
        guest.keyboard.press("ArrowRight")
    guest.wait_for_function(f"document.getElementById('g-lb-pos').textContent === '2 / {KEEPERS}'")
    guest.wait_for_function("document.getElementById('g-lb-img').complete && "
                            "document.getElementById('g-lb-img').naturalWidth > 0")
    guest.fill("#g-lb-comment-text", "Could this one be black and white?")
    guest.click("#g-lb-comment button")
    guest.wait_for_selector("#g-lb-saved:has-text('Saved')")
    if device == "phone":
        shot(guest, "gallery-phone-lightbox.png")
    assert guest.get_attribute("#g-lb-heart", "aria-pressed") == "true"
    guest.click("#g-lb-heart")  # photo 2 out again
    guest.wait_for_function("document.getElementById('g-count').textContent === '2'")
    if device == "phone":
        _swipe(guest, "#g-lb-stage", 160)  # back to photo 1
        guest.wait_for_function(f"document.getElementById('g-lb-pos').textContent === '1 / {KEEPERS}'")
        guest.click("#g-lb-close")
    else:
        guest.keyboard.press("Escape")
    guest.wait_for_selector("#g-lightbox", state="hidden")

    # Send, after the confirmation; then the selection is locked.
    guest.click("#g-submit")
    guest.wait_for_selector("#g-confirm[open]")
    assert "2 of 3" in guest.text_content("#g-confirm-count")
    guest.click("#g-confirm-send")
    guest.wait_for_selector(".g-sent-badge")
    assert "Your selection is locked" in guest.text_content("#g-msg")
    assert guest.locator("#g-submit").count() == 0
    assert Selection.objects.get().is_submitted

    # --- The photographer sees it and exports the picks ---
    admin.goto(f"{server_url}/galleries/{gallery.uuid}/")
    assert admin.text_content(".nav-badge").strip() == "1"
    row = admin.text_content("#selections tbody tr")
    assert "Jane Smith" in row and "2 of 3" in row and "new" in row
    # The note stays with photo 2 though it was un-hearted: the photographer still reads it.
    assert "IMG_0002.JPG: Could this one be black and white?" in admin.text_content("#selections")
    if device == "desktop":
        shot(admin, "gallery-photographer.png", full_page=True)
    filters = admin.input_value("#ga-f-lr")
    assert filters == "IMG_0001, IMG_0003"
    with admin.expect_download() as dl:
        admin.click("text=Picks CSV")
    rows = list(csv.DictReader(io.StringIO(Path(dl.value.path()).read_text("utf-8-sig"))))
    assert [r["file_name"] for r in rows] == ["IMG_0001.JPG", "IMG_0003.JPG"]
    with admin.expect_download() as dl:
        admin.click("#ga-xmp")
    with zipfile.ZipFile(dl.value.path()) as zf:
        assert sorted(zf.namelist()) == ["IMG_0001.xmp", "IMG_0003.xmp"]
        zf.extractall(tmp_path)
    require(shutil.which("exiftool") is not None, "exiftool is not installed")
    out = subprocess.run(["exiftool", "-j", "-XMP:Label", "-XMP:Rating", *sorted(map(str, tmp_path.glob("*.xmp")))],
                         capture_output=True, text=True, check=True)
    assert [t["Label"] for t in json.loads(out.stdout)] == ["Green", "Green"]

    # Reopen lets Jane change her mind.
    admin.click("#selections button:has-text('Reopen')")
    guest.reload()
    guest.wait_for_selector("#g-submit")
    studio.close()
    guest_ctx.close()
