"""The photographer's gallery form and picks list as a new user meets them: help that fits a new gallery, the
session's client's email already filled in, fields in one column of one width, picks big enough to recognise
with their file names. Screenshots: gallery-form-*.png and gallery-picks-*.png."""
from __future__ import annotations

import pytest

from galleries import services
from galleries.forms import GalleryCreateForm
from galleries.selections import selection_comment, selection_set_favourite, selection_submit
from sessions_app.models import Selection
from tests.browser.helpers import log_in, shot
from tests.factories import make_client, make_session, make_user
from tests.gallery_builders import make_gallery
from tests.gallery_pictures import give_preview, jpeg, picture
from tests.review_builders import OPEN, make_judged_photo

pytestmark = pytest.mark.django_db(transaction=True)

# Every typed control's box (left edge, width) on the form, so ragged fields show up as more than one pair.
CONTROL_BOXES = """() => [...document.querySelectorAll(
    '.gallery-form .ga-field input:not([type=checkbox]):not([type=radio]), .gallery-form .ga-field select, .gallery-form .ga-field textarea')]
    .map(el => { const r = el.getBoundingClientRect(); return [el.name, Math.round(r.left), Math.round(r.width)]; })"""


@pytest.fixture
def shoot(monkeypatch):
    monkeypatch.setattr(services, "gallery_previews_enqueue", lambda *, gallery: None)
    alice = make_user("alice@studio.example", name="Alice")
    client = make_client(alice, name="Jane Smith", email="jane@smith.example")
    session = make_session(alice, client=client, title="Smith family")
    photos = []
    for n in range(3):
        image = picture(n)
        photo = make_judged_photo(session, faces=OPEN, name=f"IMG_{n + 1:04d}.JPG", data=jpeg(image),
                                  width=image.width, height=image.height)
        give_preview(photo, image)
        photos.append(photo)
    return alice, session, photos


@pytest.mark.parametrize("device", ["laptop", "phone"])
def test_a_new_gallery_form_fits_a_new_gallery_and_lines_up(request, server_url, shoot, device):
    alice, session, _ = shoot
    page = request.getfixturevalue("page" if device == "laptop" else "phone")
    log_in(page, server_url, alice.email)
    page.goto(f"{server_url}/sessions/{session.uuid}/galleries/new/")
    password_help = page.locator(".ga-field", has=page.locator("input[name=password]")).inner_text()
    assert GalleryCreateForm.NEW_PASSWORD_HELP in password_help and "keep the current" not in password_help
    assert page.input_value("input[name=client_email]") == "jane@smith.example"
    boxes = page.evaluate(CONTROL_BOXES)
    assert len(boxes) >= 10
    assert len({(left, width) for _, left, width in boxes}) == 1, boxes  # one column, one width
    shot(page, f"gallery-form-{device}.png", full_page=True)


def test_the_edit_form_still_says_an_empty_password_keeps_the_current_one(page, server_url, shoot):
    alice, session, photos = shoot
    gallery = make_gallery(session, photos, previews=False)
    log_in(page, server_url, alice.email)
    page.goto(f"{server_url}/galleries/{gallery.uuid}/edit/")
    assert "Leave empty to keep the current one" in page.locator(".ga-field", has=page.locator("input[name=password]")).inner_text()


@pytest.mark.parametrize("device", ["laptop", "phone"])
def test_picks_show_recognisable_thumbnails_with_their_file_names(request, server_url, shoot, device):
    alice, session, photos = shoot
    gallery = make_gallery(session, photos, previews=False)
    items = list(gallery.items.order_by("position"))
    jane = Selection.objects.create(gallery=gallery, name="Jane", email="jane@smith.example")
    for item in items[:2]:
        selection_set_favourite(selection=jane, item=item, favourite=True)
    selection_comment(selection=jane, item=items[1], text="soften the scar please")
    page = request.getfixturevalue("page" if device == "laptop" else "phone")
    log_in(page, server_url, alice.email)
    page.goto(f"{server_url}/galleries/{gallery.uuid}/")
    picks = page.locator(".ga-strip-item")
    assert picks.count() == 2
    for n in range(2):
        name = picks.nth(n).locator(".fname")
        assert name.inner_text() == f"IMG_{n + 1:04d}.JPG" and name.is_visible()
        img = picks.nth(n).locator("img")
        img.evaluate("el => el.decode()")  # loaded, so its size is the layout's, not the placeholder's
        box = img.bounding_box()
        assert box["width"] >= 140 and box["height"] >= 110, box
    picks.first.scroll_into_view_if_needed()
    shot(page, f"gallery-picks-{device}.png", full_page=True)


@pytest.mark.parametrize("device", ["laptop", "phone"])
def test_the_selections_table_reads_on_a_phone(request, server_url, shoot, device):
    """Two guests with picks: on a 390 px phone each guest is a card (name, favourites, status, buttons, then
    the picks), nothing wider than the screen and nothing to scroll sideways; the laptop keeps its table."""
    alice, session, photos = shoot
    gallery = make_gallery(session, photos, previews=False, max_picks=3)
    items = list(gallery.items.order_by("position"))
    jane = Selection.objects.create(gallery=gallery, name="Jane Smith", email="jane.smith@a-long-domain.example")
    for item in items:
        selection_set_favourite(selection=jane, item=item, favourite=True)
    selection_comment(selection=jane, item=items[1], text="soften the scar please, and brighten the sky a little")
    selection_submit(selection=jane)
    Selection.objects.filter(pk=jane.pk).update(notify_error="the mail server refused the message (550)")
    tom = Selection.objects.create(gallery=gallery, name="Tom", email="tom@example.com")
    selection_set_favourite(selection=tom, item=items[2], favourite=True)
    page = request.getfixturevalue("page" if device == "laptop" else "phone")
    if device == "laptop":
        page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, server_url, alice.email)
    page.goto(f"{server_url}/galleries/{gallery.uuid}/")
    section = page.locator("#selections")
    section.scroll_into_view_if_needed()

    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "wider than the screen"
    table = section.locator("table.list")
    assert table.evaluate("t => t.scrollWidth <= t.clientWidth + 1"), "the table scrolls sideways"
    for button in section.locator(".row-actions .btn").all():
        box = button.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, box
    header = section.locator("thead").evaluate("h => h.getBoundingClientRect().height")
    assert (header > 10) == (device == "laptop"), header  # a phone's cards say what each value is instead
    label = section.locator(".ga-guest-count").first.inner_text()
    assert label == ("Favourites 3 of 3" if device == "phone" else "3 of 3"), label
    assert page.locator(".ga-strip-item").count() == 4
    shot(page, f"gallery-selections-{device}.png", full_page=True)
    shot(section, f"gallery-selections-{device}-section.png")
