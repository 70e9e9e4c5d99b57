"""The "check these" group on the pages: the review (server-rendered), the session page and the dashboard
agree on its count; a correction moves a photo out; another photographer gets 404."""
from __future__ import annotations

import re

import pytest

from tests.review_builders import BLINK, BORDERLINE, OPEN, make_judged_photo

HX = {"HTTP_HX_REQUEST": "true"}
pytestmark = pytest.mark.django_db


@pytest.fixture
def shoot(alice_session):
    return {
        "blink": make_judged_photo(alice_session, faces=BLINK, name="IMG_0001.JPG"),
        "open": make_judged_photo(alice_session, faces=OPEN, name="IMG_0002.JPG"),
        "border": make_judged_photo(alice_session, faces=BORDERLINE, name="IMG_0003.JPG"),
        "border2": make_judged_photo(alice_session, faces=BORDERLINE, name="IMG_0004.JPG"),
    }


def _section(html: str, anchor: str) -> str:
    match = re.search(rf'<section class="group-section[^"]*" id="{anchor}".*?</section>', html, re.DOTALL)
    assert match, anchor
    return match.group(0)


def test_review_page_shows_the_check_group_first_with_its_reasons(web, alice_session, shoot):
    html = web.get(f"/sessions/{alice_session.uuid}/review/").content.decode()

    check = _section(html, "check")
    assert 'data-key="4"' in check and "Check these" in check and 'id="count-check">2<' in check
    assert f'id="card-{shoot["border"].uuid}"' in check and f'id="card-{shoot["blink"].uuid}"' not in check
    assert "Check: near the cut-off (main face left eye 60% open)" in check
    assert 'class="check-badge"' in check
    assert html.index('id="check"') < html.index('id="blinking"')  # the ones needing a person come first
    assert 'data-key="1"' in _section(html, "blinking") and 'data-key="2"' in _section(html, "not-blinking")
    assert '<a class="group-link g-check" href="#check"><span class="n">2</span> Check these</a>' in html
    assert "jump to Rejects / Keepers / No face / Check these" in html
    # A partly closed eye shows how open it still is.
    assert '<span class="eye-pct">(60% open)</span>' in check


def test_a_correction_answers_with_the_photo_out_of_the_group_and_new_counts(web, alice_session, shoot):
    photo = shoot["border"]
    html = web.post(f"/photos/{photo.uuid}/correct/", {"label": "NOT_BLINKING", "swap": "oob"}, **HX).content.decode()

    card = html[:html.index("</article>")]
    assert 'data-group="not_blinking"' in card and "is-check" not in card and "Check:" not in card
    assert '<span class="count" id="count-check" hx-swap-oob="true">1</span>' in html
    assert '<a class="group-link g-check" href="#check"><span class="n">1</span> Check these</a>' in html


def test_session_page_and_dashboard_count_the_check_group_like_the_review(web, alice_session, shoot):
    review = web.get(f"/sessions/{alice_session.uuid}/review/").context["counts"]
    groups = web.get(f"/sessions/{alice_session.uuid}/").context["groups"]
    assert (groups.check, groups.blinking, groups.not_blinking) == (review["check"], review["blinking"],
                                                                     review["not_blinking"]) == (2, 1, 1)
    page = web.get(f"/sessions/{alice_session.uuid}/").content.decode()
    assert '<span class="n">2</span> CHECK THESE' in page

    row = next(s for s in web.get("/").context["sessions"] if s.id == alice_session.id)
    assert (row.check_count, row.blinking_count) == (2, 1)
    assert '<span class="badge badge-check">2</span>' in web.get("/").content.decode()


def test_another_photographer_gets_404(bob_web, alice_session, shoot):
    assert bob_web.get(f"/sessions/{alice_session.uuid}/review/").status_code == 404
    assert bob_web.post(f"/photos/{shoot['border'].uuid}/correct/", {"label": "BLINKING"}, **HX).status_code == 404
