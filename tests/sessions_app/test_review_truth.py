"""State that is always true: no-store pages, the session's server-side undo, what was looked at, per-face
decisions read the same everywhere, rejected uploads kept, one source for counts, friendly error pages."""
from __future__ import annotations

import csv
import io

import pytest
from django.test import Client as WebClient

from classifier.models import Correction
from review.exports.services import export_write
from review.services import correction_create
from sessions_app.models import Photo, RejectedUpload
from tests.review_builders import BLINK, OPEN, face, make_judged_photo, make_unique_photo

from .conftest import GARBAGE_BYTES

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def group(alice_session):
    # Face 2 is the only blinking face: marking it fine makes the photo a keeper.
    return make_judged_photo(alice_session, name="GROUP.JPG",
                             faces=[face(0.05, 0.05), face(0.95, 1.0, size_px=390), face(0.1, 0.1)])


def test_photographer_pages_are_never_served_from_the_browser_cache(web, alice_session, group):
    for url in ("/", f"/sessions/{alice_session.uuid}/", f"/sessions/{alice_session.uuid}/review/",
                f"/photos/{group.uuid}/lightbox/", f"/photos/{group.uuid}/loupe/"):
        response = web.get(url)
        assert response.status_code == 200, url
        assert response["Cache-Control"] == "no-store", url


def test_session_undo_undoes_my_last_change_and_names_it(web, alice_session, group):
    blink = make_judged_photo(alice_session, faces=BLINK, name="IMG_0017.JPG")
    web.post(f"/photos/{blink.uuid}/correct/", {"label": "NOT_BLINKING"}, **HX)
    # A fresh page knows nothing client-side: the server's history decides.
    response = web.post(f"/sessions/{alice_session.uuid}/review/undo/", {"swap": "oob"}, **HX)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="review-status"' in html and "Undone: IMG_0017.JPG marked keep." in html
    assert f'id="card-{blink.uuid}"' in html and "v-blinking" in html
    nothing = web.post(f"/sessions/{alice_session.uuid}/review/undo/", **HX).content.decode()
    assert "Nothing left to undo" in nothing and "card-" not in nothing


def test_session_undo_without_javascript_redirects_with_the_message(web, alice_session, group):
    web.post(f"/photos/{group.uuid}/correct/", {"label": "NOT_BLINKING", "face": "1"})
    response = web.post(f"/sessions/{alice_session.uuid}/review/undo/", follow=True)
    assert "Undone: face 2 of GROUP.JPG marked keep." in response.content.decode()
    assert not Correction.objects.filter(undoes__isnull=True, undone_by__isnull=True).exists()


def test_the_card_undo_says_what_it_undid(web, alice_session, group):
    web.post(f"/photos/{group.uuid}/correct/", {"label": "BLINKING"}, **HX)
    html = web.post(f"/photos/{group.uuid}/undo/", {"swap": "oob"}, **HX).content.decode()
    assert "Undone on GROUP.JPG: it is blinking again." in html


def test_seen_photos_count_in_the_agreement_line(web, alice_session):
    photos = [make_judged_photo(alice_session, faces=BLINK if i < 2 else OPEN, name=f"IMG_{i}.JPG") for i in range(5)]
    before = web.get(f"/sessions/{alice_session.uuid}/review/").content.decode()
    assert "Not reviewed yet: 2 flagged by the model." in before
    # Fetching the loupe part (a prefetch) changes nothing; reporting it as shown does.
    web.get(f"/photos/{photos[0].uuid}/loupe/")
    assert not Photo.objects.filter(seen=True).exists()
    response = web.post(f"/sessions/{alice_session.uuid}/review/seen/",
                        {"photos": [str(photos[0].uuid), str(photos[3].uuid), "not-a-uuid"]}, **HX)
    html = response.content.decode()
    assert 'id="agreement" hx-swap-oob="true"' in html
    assert "You looked at 2 of 5; of those the model flagged 1 and you kept 0; no reject was missed." in html
    session_page = web.get(f"/sessions/{alice_session.uuid}/").content.decode()
    assert "You looked at 2 of 5" in session_page


def test_seen_reports_from_another_photographer_change_nothing(bob_web, alice_session):
    photo = make_judged_photo(alice_session, faces=OPEN)
    assert bob_web.post(f"/sessions/{alice_session.uuid}/review/seen/", {"photos": [str(photo.uuid)]}).status_code == 404
    photo.refresh_from_db()
    assert photo.seen is False


def test_a_face_decision_reads_the_same_on_card_lightbox_loupe_csv_and_xmp(web, alice, alice_session, group, tmp_path):
    html = web.post(f"/photos/{group.uuid}/correct/", {"label": "NOT_BLINKING", "face": "1"}, **HX).content.decode()
    sentence = "face 2: fine, your call (the model read right eye closed (1.00), left eye closed (0.95)); no other face blinking"
    # Card: a keeper, the reason tells the photographer's decision, no "confirmed" badge, the face keeps its place.
    assert "v-not_blinking" in html and sentence in html
    assert "confirmed" not in html and "face 2: yours" in html
    assert "more-faces" not in html.split('data-face="1"')[0]  # face 2 is still shown, not folded away
    assert "face-overridden" in html and "model: closed" in html
    for url in (f"/photos/{group.uuid}/lightbox/", f"/photos/{group.uuid}/loupe/"):
        page = web.get(url, **HX).content.decode()
        assert sentence in page and "you: fine" in page, url

    rows = list(csv.DictReader(export_write(session=alice_session, fmt="csv", out=tmp_path / "r.csv")[0]
                               .read_text(encoding="utf-8-sig").splitlines()))
    row = next(r for r in rows if r["file_name"] == "GROUP.JPG")
    assert (row["verdict"], row["machine_verdict"], row["corrected_by"]) == ("NOT_BLINKING", "BLINKING", alice.email)
    assert row["reason"] == sentence
    folder, _ = export_write(session=alice_session, fmt="xmp", out=tmp_path / "xmp")
    sidecar = (folder / "GROUP.xmp").read_text()
    assert 'xmp:Rating="0"' in sidecar and "Red" not in sidecar  # a keeper, not a red reject


def test_rejected_uploads_stay_listed_on_the_session_page(web, alice_session):
    upload = io.BytesIO(GARBAGE_BYTES)
    upload.name = "broken.jpg"
    response = web.post(f"/sessions/{alice_session.uuid}/upload/", {"file": upload},
                        HTTP_ACCEPT="application/json")
    assert response.status_code == 422
    rejected = RejectedUpload.objects.get()
    assert rejected.filename == "broken.jpg" and "not an image" in rejected.reason
    page = web.get(f"/sessions/{alice_session.uuid}/").content.decode()
    assert "1 file refused at upload" in page and "broken.jpg" in page and rejected.reason in page


def test_dashboard_done_counts_like_the_session_page(web, alice_session):
    make_judged_photo(alice_session, faces=OPEN)
    make_unique_photo(alice_session, status=Photo.Status.FAILED, error="truncated")
    dashboard = web.get("/").content.decode()
    session_page = web.get(f"/sessions/{alice_session.uuid}/").content.decode()
    assert "2 of 2 done" in session_page
    assert '<td class="num">2</td>{# finished' not in dashboard  # the comment is not rendered
    row = dashboard.split(alice_session.title)[1].split("</tr>")[0]
    assert row.count('<td class="num">2</td>') == 2  # photos 2, done 2 (the failed one is finished too)


def test_another_photographers_page_is_our_404_not_the_debug_page(settings, bob_web, alice_session):
    settings.DEBUG = True  # the embedded default
    settings.EYESPY_DEBUG_PAGES = False
    for url in (f"/sessions/{alice_session.uuid}/review/", "/no/such/page/"):
        response = bob_web.get(url)
        html = response.content.decode()
        assert response.status_code == 404
        assert "Nothing here" in html and "URLconf" not in html and "sessions:" not in html, url


def test_debug_pages_come_back_when_asked_for(settings, bob_web):
    settings.DEBUG = True
    settings.EYESPY_DEBUG_PAGES = True
    assert "URLconf" in bob_web.get("/no/such/page/").content.decode()


def test_password_reset_says_the_link_is_in_the_terminal_without_smtp(db, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    page = WebClient().post("/accounts/password/reset/", {"email": "nobody@example.com"}, follow=True)
    html = page.content.decode()
    assert "No mail server is set up" in html and "terminal" in html
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    html = WebClient().get("/accounts/password/reset/sent/").content.decode()
    assert "No mail server" not in html and "spam folder" in html


def test_every_page_has_a_title_and_the_favicon(web, alice_session):
    for url in ("/", f"/sessions/{alice_session.uuid}/", f"/sessions/{alice_session.uuid}/review/", "/clients/"):
        html = web.get(url).content.decode()
        title = html.split("<title>")[1].split("</title>")[0]
        assert title.endswith("· Eye Spy") and len(title) > len("· Eye Spy"), url
        assert "/static/img/favicon.svg" in html, url
    assert "<title>Log in" in WebClient().get("/accounts/login/").content.decode()
