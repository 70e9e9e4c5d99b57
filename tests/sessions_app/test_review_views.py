"""The review screen: groups, one-keystroke corrections (htmx and plain POST), bulk, undo, strictness,
lightbox and 100% eye zoom — and another photographer gets 404 from every one of them."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from classifier.models import Correction
from sessions_app.models import Photo
from tests.factories import make_session
from tests.review_builders import BLINK, BORDERLINE, OPEN, face, make_judged_photo, make_unique_photo

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def photos(alice_session):
    return {
        "blink": make_judged_photo(alice_session, faces=BLINK, name="IMG_0001.JPG"),
        "open": make_judged_photo(alice_session, faces=OPEN, name="IMG_0002.JPG"),
        "border": make_judged_photo(alice_session, faces=BORDERLINE, name="IMG_0003.JPG"),
        "group": make_judged_photo(alice_session, faces=[face(0.9, 0.9), face(0.05, 0.05, size_px=390)], name="IMG_0004.JPG"),
        "failed": make_unique_photo(alice_session, name="IMG_0005.JPG", status=Photo.Status.FAILED, error="file is truncated"),
    }


def _review(session):
    return f"/sessions/{session.uuid}/review/"


def test_review_page_shows_the_groups_with_counts_reasons_and_eyes(web, alice_session, photos):
    response = web.get(_review(alice_session))
    html = response.content.decode()

    assert response.status_code == 200
    assert "{#" not in html and "{%" not in html  # no template syntax leaks onto the page
    assert 'id="count-blinking">2<' in html and 'id="count-not_blinking">1<' in html and 'id="count-no_face">1<' in html
    assert 'id="count-check">1<' in html  # the borderline photo: the model is unsure
    assert 'id="blinking"' in html and 'id="not-blinking"' in html and 'id="no-face"' in html and 'id="check"' in html
    assert "main face: right eye closed (0.90), left eye closed (0.95)" in html
    assert f"/photos/{photos['blink'].uuid}/eye/0/left/" in html
    assert "file is truncated" in html
    assert 'name="strictness"' in html and 'value="0.50"' in html
    # Nothing decided yet: the page says what the model flagged and claims no agreement.
    assert "Not reviewed yet: 2 flagged by the model." in html
    assert "How the model did:" not in html and "you kept" not in html
    # The group photo gets per-face buttons; single-face photos don't.
    assert html.count('name="face"') == 2


def test_review_page_query_count_does_not_grow_with_photos(web, alice_session, django_assert_max_num_queries):
    for i in range(30):
        make_judged_photo(alice_session, faces=BLINK if i % 3 else OPEN, name=f"IMG_{i:04d}.JPG")
    with django_assert_max_num_queries(12):
        assert web.get(_review(alice_session)).status_code == 200


def test_review_sorts(web, alice_session, photos):
    # Within Blinking: IMG_0001 (confidence 0.95) and the group photo IMG_0004 (0.90).
    html = web.get(_review(alice_session) + "?sort=name").content.decode()
    assert html.index("IMG_0001.JPG") < html.index("IMG_0004.JPG")
    html = web.get(_review(alice_session)).content.decode()  # least confident first
    assert html.index("IMG_0004.JPG") < html.index("IMG_0001.JPG")


def test_htmx_correction_returns_the_card_and_out_of_band_counts(web, alice, alice_session, photos):
    photo = photos["blink"]
    response = web.post(f"/photos/{photo.uuid}/correct/", {"label": "NOT_BLINKING"}, **HX)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<article id="card-{photo.uuid}"')
    assert "v-not_blinking" in html and "corrected" in html
    assert 'id="review-counts" hx-swap-oob="true"' in html
    assert 'id="count-blinking" hx-swap-oob="true">1<' in html
    assert "You looked at 1 of 4; of those the model flagged 1 and you kept 1" in html
    correction = Correction.objects.get()
    assert (correction.photo, correction.label, correction.previous_label, correction.created_by) == (
        photo, "NOT_BLINKING", "BLINKING", alice)


def test_plain_post_correction_redirects_back_to_the_card(web, alice_session, photos):
    photo = photos["open"]
    response = web.post(f"/photos/{photo.uuid}/correct/", {"label": "BLINKING", "sort": "name"})
    assert response.status_code == 302
    assert response["Location"] == f"{_review(alice_session)}?sort=name#card-{photo.uuid}"
    assert Correction.objects.get().label == "BLINKING"


def test_face_correction(web, photos):
    photo = photos["group"]
    response = web.post(f"/photos/{photo.uuid}/correct/", {"label": "NOT_BLINKING", "face": "0"}, **HX)
    assert response.status_code == 200 and "v-not_blinking" in response.content.decode()
    assert Correction.objects.get().face_index == 0


@pytest.mark.parametrize("data, reason", [
    ({"label": "MAYBE"}, "unknown label"),
    ({"label": "BLINKING", "face": "zero"}, "face must be a number"),
    ({"label": "BLINKING", "face": "7"}, "has no face 8"),
])
def test_bad_corrections_say_why(web, photos, data, reason):
    photo = photos["group"]
    response = web.post(f"/photos/{photo.uuid}/correct/", data, **HX)
    assert response.status_code == 400 and reason in response.content.decode()
    plain = web.post(f"/photos/{photo.uuid}/correct/", data, follow=True)
    assert reason in plain.content.decode().lower()
    assert not Correction.objects.exists()


def test_unreadable_photo_cannot_be_corrected(web, photos):
    response = web.post(f"/photos/{photos['failed'].uuid}/correct/", {"label": "BLINKING"}, **HX)
    assert response.status_code == 400 and "could not be read" in response.content.decode()


def test_undo_via_htmx_and_plain_post(web, photos):
    photo = photos["blink"]
    web.post(f"/photos/{photo.uuid}/correct/", {"label": "NOT_BLINKING"}, **HX)
    response = web.post(f"/photos/{photo.uuid}/undo/", **HX)
    assert response.status_code == 200 and "v-blinking" in response.content.decode()
    assert Correction.objects.count() == 2 and Correction.objects.last().undoes is not None
    response = web.post(f"/photos/{photo.uuid}/undo/", follow=True)  # nothing left
    assert "Nothing to undo" in response.content.decode()


def test_bulk_marks_selected_photos_and_ignores_others(web, bob, alice_session, photos):
    bobs = make_judged_photo(make_session(bob), faces=OPEN)
    ids = [str(photos["open"].uuid), str(photos["border"].uuid), str(bobs.uuid), "not-a-uuid"]

    response = web.post(f"/sessions/{alice_session.uuid}/review/bulk/", {"action": "BLINKING", "photos": ids}, **HX)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('hx-swap-oob="true"') >= 2 + 2  # two cards, counts, agreement...
    assert f'id="card-{photos["open"].uuid}"' in html and f'id="card-{bobs.uuid}"' not in html
    assert set(Correction.objects.values_list("photo_id", flat=True)) == {photos["open"].id, photos["border"].id}

    response = web.post(f"/sessions/{alice_session.uuid}/review/bulk/", {"action": "undo", "photos": ids[:2]})
    assert response.status_code == 302
    assert Correction.objects.filter(undoes__isnull=False).count() == 2


def test_bulk_without_a_selection_is_refused(web, alice_session, photos):
    response = web.post(f"/sessions/{alice_session.uuid}/review/bulk/", {"action": "BLINKING"}, **HX)
    assert response.status_code == 400 and "select some photos" in response.content.decode()


def test_strictness_preview_and_apply(web, alice_session, photos):
    response = web.get(f"/sessions/{alice_session.uuid}/review/strictness/preview/?strictness=1")
    # The borderline photo leaves Check these for Blinking; at 1.0 the open one lies near the cut-off.
    moves = "1 photo moves to Blinking; 1 photo moves to Check these."
    assert response.status_code == 200 and moves in response.content.decode()
    assert web.get(f"/sessions/{alice_session.uuid}/review/strictness/preview/?strictness=7").status_code == 400
    # The no-JS preview: the review page itself with ?strictness=.
    assert moves in web.get(_review(alice_session) + "?strictness=1").content.decode()

    response = web.post(f"/sessions/{alice_session.uuid}/review/strictness/", {"strictness": "1"}, follow=True)
    alice_session.refresh_from_db()
    assert alice_session.strictness == 1.0
    assert f"Strictness set to 1.00. {moves}" in response.content.decode()
    assert 'id="count-blinking">3<' in response.content.decode()

    response = web.post(f"/sessions/{alice_session.uuid}/review/strictness/", {"strictness": "-2"}, follow=True)
    assert "number from 0 (lenient) to 1 (strict)" in response.content.decode()
    alice_session.refresh_from_db()
    assert alice_session.strictness == 1.0


def test_lightbox_partial_and_page(web, alice_session, photos):
    photo = photos["group"]
    partial = web.get(f"/photos/{photo.uuid}/lightbox/", **HX).content.decode()
    assert "<html" not in partial and f"/photos/{photo.uuid}/zoom/0/" in partial and f"/photos/{photo.uuid}/zoom/1/" in partial
    # The face box is SVG geometry, not an inline style (the Content-Security-Policy allows none).
    assert 'x="30.00%" y="20.00%" width="40.00%" height="50.00%"' in partial and "style=" not in partial
    page = web.get(f"/photos/{photo.uuid}/lightbox/").content.decode()
    assert "<html" in page and f"/sessions/{alice_session.uuid}/review/#card-{photo.uuid}" in page


def _oriented_jpeg(*, orientation: int) -> bytes:
    """A 400x300 upright picture, red where the eyes are (x 40-60%, y 30-36%), stored rotated with an EXIF tag."""
    upright = Image.new("RGB", (400, 300), (20, 20, 200))
    upright.paste((230, 10, 10), (int(0.40 * 400), int(0.30 * 300), int(0.60 * 400), int(0.36 * 300)))
    stored = upright.transpose(Image.Transpose.ROTATE_90) if orientation == 6 else upright
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    stored.save(buf, "JPEG", quality=95, exif=exif.tobytes())
    return buf.getvalue()


@pytest.fixture
def zoom_tasks(monkeypatch):
    """What the web side queues for the worker: (photo id, model version id, face) per task sent."""
    from classifier import tasks
    from classifier.services import eye_zoom

    sent = []
    monkeypatch.setattr(eye_zoom, "_in_background", lambda send: send())  # send in the request, to see it
    monkeypatch.setattr(tasks.make_eye_zoom_task, "apply_async", lambda args, **kw: sent.append(tuple(args)))
    return sent


def test_the_first_zoom_is_queued_for_a_worker_once_and_never_decoded_in_the_request(web, alice_session, zoom_tasks):
    photo = make_judged_photo(alice_session, faces=BLINK, data=_oriented_jpeg(orientation=1))
    first = [web.get(f"/photos/{photo.uuid}/zoom/0/") for _ in range(3)]
    assert [r.status_code for r in first] == [202, 202, 202]
    assert first[0]["Content-Type"] == "image/svg+xml" and b"Preparing" in first[0].content
    assert "no-store" in first[0]["Cache-Control"] and first[0]["Retry-After"] == "1"
    prediction = photo.predictions.get()
    assert zoom_tasks == [(photo.id, prediction.model_version_id, 0)]  # three asks, one task


@pytest.mark.parametrize("orientation", [1, 6])
def test_zoom_crops_the_original_at_full_size_around_the_eyes(web, alice_session, orientation, zoom_tasks):
    from classifier.tasks import make_eye_zoom_task

    photo = make_judged_photo(alice_session, faces=BLINK, data=_oriented_jpeg(orientation=orientation))
    assert web.get(f"/photos/{photo.uuid}/zoom/0/").status_code == 202
    make_eye_zoom_task.run(*zoom_tasks[0])  # what the worker does with it

    response = web.get(f"/photos/{photo.uuid}/zoom/0/")

    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    crop = Image.open(io.BytesIO(b"".join(response.streaming_content))).convert("RGB")
    # Eye boxes span x 0.40-0.60 and y 0.30-0.36 of 400x300, padded: wider than tall, at 100% (no scaling).
    assert crop.width > crop.height and 80 <= crop.width <= 140
    r, g, b = crop.getpixel((crop.width // 2, crop.height // 2))
    assert r > 150 and b < 100  # the red eye band sits in the middle, whatever the EXIF rotation
    assert web.get(f"/photos/{photo.uuid}/zoom/3/").status_code == 404


def test_get_on_post_only_endpoints_is_405(web, alice_session, photos):
    photo = photos["blink"]
    for url in (f"/photos/{photo.uuid}/correct/", f"/photos/{photo.uuid}/undo/",
                f"/sessions/{alice_session.uuid}/review/bulk/", f"/sessions/{alice_session.uuid}/review/strictness/"):
        assert web.get(url).status_code == 405


def test_anonymous_visitors_are_sent_to_log_in(client, alice_session, photos):
    response = client.get(_review(alice_session))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.post(f"/photos/{photos['blink'].uuid}/correct/", {"label": "NOT_BLINKING"}).status_code == 302
    assert not Correction.objects.exists()


def test_another_photographer_gets_404_everywhere(bob_web, alice_session, photos):
    photo = photos["group"]
    session_urls = [
        ("get", _review(alice_session), {}),
        ("get", f"/sessions/{alice_session.uuid}/review/strictness/preview/?strictness=1", {}),
        ("post", f"/sessions/{alice_session.uuid}/review/strictness/", {"strictness": "1"}),
        ("post", f"/sessions/{alice_session.uuid}/review/bulk/", {"action": "BLINKING", "photos": [str(photo.uuid)]}),
        ("post", f"/photos/{photo.uuid}/correct/", {"label": "NOT_BLINKING"}),
        ("post", f"/photos/{photo.uuid}/undo/", {}),
        ("get", f"/photos/{photo.uuid}/lightbox/", {}),
        ("get", f"/photos/{photo.uuid}/zoom/0/", {}),
    ]
    for method, url, data in session_urls:
        response = getattr(bob_web, method)(url, data)
        assert response.status_code == 404, url
        response = getattr(bob_web, method)(url, data, **HX)
        assert response.status_code == 404, url
    assert not Correction.objects.exists()
    alice_session.refresh_from_db()
    assert alice_session.strictness == 0.5


def test_review_page_while_photos_are_still_being_analysed(web, alice_session):
    make_unique_photo(alice_session, name="IMG_0009.JPG")  # queued
    html = web.get(_review(alice_session)).content.decode()
    assert "1 still being analysed" in html and "No photos here yet." in html
    assert "IMG_0009.JPG" not in html


# --- One number per eye, on the scale its label names ----------------------------------------------------------


def test_eye_chips_show_the_state_and_its_own_number(web, alice_session, photos):
    html = web.get(_review(alice_session)).content.decode()
    # Closed eyes show P(closed) — the number in the reason sentence — never the openness beside it.
    assert "main face: right eye closed (0.90), left eye closed (0.95)" in html
    assert '<span class="state">closed</span> <span class="eye-pct">95%</span>' in html
    assert '<span class="state">closed</span> <span class="eye-pct">5%</span>' not in html
    # Open eyes show their openness (P(closed) 0.05 -> 95% open), and the tooltip names each scale.
    assert '<span class="state">open</span> <span class="eye-pct">90%</span>' in html
    assert "Left eye closed: P(closed) 95%" in html and "Right eye open: openness 90% (100% = wide open)" in html


def test_lightbox_captions_use_the_same_convention(web, photos):
    partial = web.get(f"/photos/{photos['group'].uuid}/lightbox/", **HX).content.decode()
    assert "right closed 90%, left closed 90%" in partial and "right open 95%, left open 95%" in partial
    assert "(0.10)" not in partial  # no openness printed beside a "closed"


# --- Lightbox: current verdict, standalone navigation -----------------------------------------------------------


def test_lightbox_buttons_show_the_current_verdict(web, photos):
    blink = web.get(f"/photos/{photos['blink'].uuid}/lightbox/", **HX).content.decode()
    assert 'data-lb-label="BLINKING" aria-pressed="true"' in blink and 'data-lb-label="NOT_BLINKING">' in blink
    web.post(f"/photos/{photos['blink'].uuid}/correct/", {"label": "NOT_BLINKING"}, **HX)
    kept = web.get(f"/photos/{photos['blink'].uuid}/lightbox/", **HX).content.decode()
    assert 'data-lb-label="NOT_BLINKING" aria-pressed="true"' in kept and 'data-lb-label="BLINKING">' in kept


def test_lightbox_page_links_previous_and_next_in_the_review_order(web, alice_session, photos):
    # By name the review shows: Check these IMG_0003; Blinking IMG_0001, IMG_0004; Not blinking IMG_0002;
    # No face IMG_0005.
    page = web.get(f"/photos/{photos['group'].uuid}/lightbox/?sort=name").content.decode()
    assert f'href="/photos/{photos["blink"].uuid}/lightbox/?sort=name" rel="prev" data-lb-prev' in page
    assert f'href="/photos/{photos["open"].uuid}/lightbox/?sort=name" rel="next" data-lb-next' in page
    assert "3 of 5" in page
    assert f'href="/sessions/{alice_session.uuid}/review/?sort=name#card-{photos["group"].uuid}" data-lb-back' in page
    assert "previous / next photo" in page and "<kbd>Esc</kbd> back to the review" in page
    assert "js/lightbox.js" in page  # the script that makes those keys work

    first = web.get(f"/photos/{photos['border'].uuid}/lightbox/?sort=name").content.decode()
    assert "data-lb-prev" not in first and "data-lb-next" in first
    # The modal partial keeps its own hint (review.js handles the keys there).
    partial = web.get(f"/photos/{photos['blink'].uuid}/lightbox/", **HX).content.decode()
    assert "data-lb-next" not in partial and "<kbd>Esc</kbd> close" in partial


def test_lightbox_zoom_is_shown_at_full_size_in_a_scrolling_box(web, photos):
    import re
    from pathlib import Path

    from django.conf import settings

    partial = web.get(f"/photos/{photos['blink'].uuid}/lightbox/", **HX).content.decode()
    assert '<div class="lb-zoom-box"' in partial
    css = (Path(settings.BASE_DIR) / "static" / "css" / "review.css").read_text()
    box = re.search(r"\.lb-zoom-box \{([^}]*)\}", css).group(1)
    img = re.search(r"\.lb-zoom-box img \{([^}]*)\}", css).group(1)
    assert "overflow: auto" in box and "max-height" in box
    assert "max-width: none" in img  # never scaled down to the sidebar's width
    assert not re.search(r"\.lb-zoom img \{[^}]*max-width: 100%", css)


def test_agreement_appears_only_once_something_is_decided(web, alice_session, photos):
    before = web.get(_review(alice_session)).content.decode()
    assert "Not reviewed yet: 2 flagged by the model." in before and "How the model did" not in before
    web.post(f"/photos/{photos['open'].uuid}/correct/", {"label": "NOT_BLINKING"}, **HX)  # confirms the model
    after = web.get(_review(alice_session)).content.decode()
    assert "How the model did:" in after
    assert "You looked at 1 of 4; of those the model flagged none; no reject was missed." in after
    assert "Agreement 100% on those; you decided 1." in after


def test_a_zoom_asked_while_the_broker_is_down_is_queued_on_the_next_ask(web, alice_session, monkeypatch):
    from kombu.exceptions import OperationalError

    from classifier import tasks
    from classifier.services import eye_zoom

    monkeypatch.setattr(eye_zoom, "_in_background", lambda send: send())

    sent = []

    def down(*args, **kwargs):
        raise OperationalError("broker down")

    monkeypatch.setattr(tasks.make_eye_zoom_task, "apply_async", down)
    photo = make_judged_photo(alice_session, faces=BLINK)
    assert web.get(f"/photos/{photo.uuid}/zoom/0/").status_code == 202  # no 500 for a broker outage
    monkeypatch.setattr(tasks.make_eye_zoom_task, "apply_async", lambda args, **kw: sent.append(tuple(args)))
    assert web.get(f"/photos/{photo.uuid}/zoom/0/").status_code == 202
    assert len(sent) == 1


def test_the_zoom_job_gives_up_quietly_on_a_vanished_photo(alice_session):
    from classifier.services import ZoomUnavailable, eye_zoom_make
    from classifier.tasks import make_eye_zoom_task

    with pytest.raises(ZoomUnavailable):
        eye_zoom_make(photo_id=999_999, model_version_id=1, face_index=0)
    make_eye_zoom_task.run(999_999, 1, 0)  # the task logs it: nothing to retry, nothing raised


def test_zoom_tasks_go_to_their_own_queue():
    from eyespy_site.celery import app

    assert app.amqp.router.route({}, "classifier.tasks.make_eye_zoom_task")["queue"].name == "zooms"


def test_a_dead_broker_never_holds_up_the_zoom_request(web, alice_session, monkeypatch):
    import threading

    from classifier import tasks

    entered, released, returned = threading.Event(), threading.Event(), threading.Event()

    def slow_broker(*args, **kwargs):
        entered.set()
        released.wait(30)  # a broker that hangs until the test lets it go
        returned.set()

    monkeypatch.setattr(tasks.make_eye_zoom_task, "apply_async", slow_broker)
    photo = make_judged_photo(alice_session, faces=BLINK)
    assert web.get(f"/photos/{photo.uuid}/zoom/0/").status_code == 202
    assert entered.wait(30) and not returned.is_set()  # answered while the send was still hanging
    released.set()
