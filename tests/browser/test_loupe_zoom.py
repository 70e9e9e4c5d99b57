"""Loupe Z at 100 %: the scrolling close-up opens on the eyes, not on a cheek with one eye at the edge."""
from __future__ import annotations

import pytest

from classifier.services.eye_zoom import eyes_region
from classifier.models import Prediction
from tests.browser.helpers import log_in, open_review, shot
from tests.browser.photos import face_pictures, make_shoot_photo
from tests.factories import make_session, make_user

pytestmark = pytest.mark.django_db(transaction=True)

# Where each eye's centre is on screen against the zoom box's visible area, in CSS pixels.
EYES_ON_SCREEN = """([img, eyes]) => {
    const box = img.parentElement, r = img.getBoundingClientRect(), b = box.getBoundingClientRect();
    const view = {left: b.left + box.clientLeft, top: b.top + box.clientTop};
    view.right = view.left + box.clientWidth; view.bottom = view.top + box.clientHeight;
    return {view, scroll: [box.scrollLeft, box.scrollTop], size: [img.naturalWidth, img.naturalHeight],
            eyes: eyes.map(([u, v]) => [r.left + u * r.width, r.top + v * r.height])};
}"""


def _eye_centres_in_crop(photo) -> list[tuple[float, float]]:
    """Each eye's centre as fractions of the stored 100 % crop (the region eye_zoom cuts), the most closed first."""
    face = Prediction.objects.get(photo=photo).details["faces"][0]
    x0, y0, x1, y1 = eyes_region(face, aspect=photo.width / photo.height)
    eyes = sorted(face["eyes"], key=lambda e: -e["p_closed"])
    return [(((e["box"]["x0"] + e["box"]["x1"]) / 2 - x0) / (x1 - x0), ((e["box"]["y0"] + e["box"]["y1"]) / 2 - y0) / (y1 - y0))
            for e in eyes]


def _inside(view: dict, x: float, y: float, margin: float = 10) -> bool:
    return view["left"] + margin <= x <= view["right"] - margin and view["top"] + margin <= y <= view["bottom"] - margin


# (photo size, face width as a share of it): a close portrait whose eyes at 100 % are further apart than the
# box is wide; a smaller face whose two eyes fit; a close face at the frame's top, where the crop is cut off.
SHOTS = {"close": ((3000, 2000), 0.4), "small": ((2400, 1600), 0.24), "top_edge": ((3000, 1300), 0.4)}


@pytest.mark.parametrize("where", list(SHOTS))
def test_z_at_100_percent_opens_on_the_eyes(page, server_url, where):
    alice = make_user("alice@example.com")
    session = make_session(alice, title="Big faces")
    size, width_frac = SHOTS[where]
    photo = make_shoot_photo(session, name="CLOSE.JPG", faces=[(face_pictures("open")[0], 0.05, 0.35)],
                             seed=4, width_frac=width_frac, size=size)
    log_in(page, server_url, alice.email)
    open_review(page, server_url, session)
    page.keyboard.press("l")
    page.wait_for_selector("#loupe[data-ready='1'] .loupe-zoom img")
    page.keyboard.press("z")
    img = page.locator("#loupe-current .loupe-zoom.is-100 img").first
    # The centring runs on the image's load (its listener was added first): wait for that load, then a frame.
    img.evaluate("el => new Promise(done => { const next = () => requestAnimationFrame(() => done()); "
                 "if (el.complete && el.naturalWidth) next(); else el.addEventListener('load', next, {once: true}); })")
    shot(page, f"loupe-zoom-100-{where}.png")
    seen = page.evaluate("([sel, eyes]) => (" + EYES_ON_SCREEN + ")([document.querySelector(sel), eyes])",
                         ["#loupe-current .loupe-zoom.is-100 img", _eye_centres_in_crop(photo)])
    view, eyes = seen["view"], seen["eyes"]
    width = view["right"] - view["left"]
    assert seen["size"][0] > width or seen["size"][1] > view["bottom"] - view["top"], seen  # it does scroll
    if abs(eyes[0][0] - eyes[1][0]) <= 0.8 * width:
        assert all(_inside(view, x, y) for x, y in eyes), seen  # both eyes in view
    else:  # too far apart for the box: the eye to check (the more closed one) in the middle
        x, y = eyes[0]
        assert _inside(view, x, y) and abs(x - (view["left"] + width / 2)) < 20, seen
