"""Galleries, the client's side: entering (name, email, password), hearts within the limit, comments,
submit and lock, downloads and the quota; and what a guest must never get (labels, scores, file names,
other guests' picks, originals while downloads are off, photos of another gallery, unthrottled guesses)."""
from __future__ import annotations

import io
import json
import re

import pytest
from django.test import Client as WebClient

from galleries import access, previews, services
from sessions_app.models import Selection
from tests.gallery_builders import GUEST_PASSWORD, enter, judged_shoot, make_gallery
from tests.parallel import Hold, held_in_parallel


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    monkeypatch.setattr(services, "gallery_previews_enqueue", lambda *, gallery: None)


@pytest.fixture
def shoot(alice_session):
    return judged_shoot(alice_session)


@pytest.fixture
def gallery(alice_session, shoot):
    return make_gallery(alice_session, shoot[0], max_picks=2, password=GUEST_PASSWORD)


def _keys(gallery) -> list[str]:
    return [str(i.uuid) for i in gallery.items.order_by("position")]


def _heart(web, gallery, key, on=True):
    resp = web.post(f"/g/{gallery.token}/p/{key}/favourite/", {"favourite": "1" if on else "0"},
                    HTTP_ACCEPT="application/json")
    return resp.status_code, json.loads(resp.content)


def test_the_link_asks_for_name_email_and_password_and_shows_nothing_before(gallery):
    web = WebClient()
    page = web.get(f"/g/{gallery.token}/").content.decode()
    assert 'name="name"' in page and 'name="password"' in page
    assert not any(key in page for key in _keys(gallery))  # no photo before the password
    resp = web.post(f"/g/{gallery.token}/enter/", {"name": "Jane", "email": "jane@example.com", "password": "nope"})
    assert resp.status_code == 403 and "That password isn" in resp.content.decode()
    assert not Selection.objects.exists()
    enter(gallery, web=web)
    page = web.get(f"/g/{gallery.token}/").content.decode()
    assert all(key in page for key in _keys(gallery)) and "0</strong> of 2 selected" in page
    cookie = web.cookies[access.COOKIE_NAME]
    assert cookie["httponly"] and cookie["path"] == f"/g/{gallery.token}/" and cookie["samesite"] == "Lax"


def test_the_page_never_shows_labels_scores_file_names_or_the_photographers_ids(gallery, shoot):
    web = enter(gallery)
    page = web.get(f"/g/{gallery.token}/").content.decode()
    for secret in ("BLINK", "KEEP_", "blinking", "confidence", "closed", "open 9", "test",
                   *(str(p.uuid) for p in shoot[0] + shoot[1]), str(gallery.session.uuid), str(gallery.uuid),
                   gallery.session.owner.email):
        assert secret not in page, secret
    assert not re.search(r"\b0\.\d\d\b", page)  # no scores


def test_hearts_stop_at_the_limit_with_a_message(gallery):
    web = enter(gallery)
    a, b, c, *_ = _keys(gallery)
    assert _heart(web, gallery, a) == (200, {"count": 1, "max": 2, "min": 0, "favourite": True})
    assert _heart(web, gallery, b)[1]["count"] == 2
    status, body = _heart(web, gallery, c)
    assert status == 409 and body["count"] == 2 and not body["favourite"]
    assert "Your package includes 2 favourites" in body["error"]
    assert _heart(web, gallery, a, on=False)[1]["count"] == 1  # take one back, then the third fits
    assert _heart(web, gallery, c)[1]["count"] == 2


def test_each_guest_has_their_own_picks(gallery):
    jane, tom = enter(gallery), enter(gallery, name="Tom", email="tom@example.com")
    key = _keys(gallery)[0]
    _heart(jane, gallery, key)
    assert jane.get(f"/g/{gallery.token}/").content.decode().count("g-tile is-fav") == 1
    tom_page = tom.get(f"/g/{gallery.token}/").content.decode()
    assert "is-fav" not in tom_page and "Jane" not in tom_page and "0</strong> of 2" in tom_page


def test_a_guest_comes_back_on_the_same_device(gallery):
    web = enter(gallery)
    _heart(web, gallery, _keys(gallery)[1])
    again = WebClient()
    again.cookies = web.cookies  # the signed cookie is all it takes, no account
    assert "1</strong> of 2 selected" in again.get(f"/g/{gallery.token}/").content.decode()


def test_a_new_password_locks_out_old_unlocks(gallery):
    web = enter(gallery)
    services.gallery_update(gallery=gallery, title=gallery.title, max_picks=2, password="another-one-42")
    page = web.get(f"/g/{gallery.token}/").content.decode()
    assert 'name="password"' in page and 'name="name"' not in page  # still Jane, but asked again
    assert web.post(f"/g/{gallery.token}/enter/", {"password": "another-one-42"}).status_code == 302
    assert "selected" in web.get(f"/g/{gallery.token}/").content.decode()
    assert Selection.objects.count() == 1


def test_password_guessing_is_throttled(gallery, settings):
    attacker = WebClient(REMOTE_ADDR="203.0.113.9")
    for _ in range(access.PASSWORD_PER_IP.attempts):
        assert attacker.post(f"/g/{gallery.token}/enter/", {"name": "M", "email": "m@x.io",
                                                              "password": "guess"}).status_code == 403
    # Locked out: even the right password is not checked now.
    resp = attacker.post(f"/g/{gallery.token}/enter/", {"name": "M", "email": "m@x.io", "password": GUEST_PASSWORD})
    assert resp.status_code == 429 and "try again in" in resp.content.decode()
    assert not Selection.objects.exists()
    # Another address still gets in.
    assert WebClient(REMOTE_ADDR="198.51.100.7").post(f"/g/{gallery.token}/enter/", {
        "name": "J", "email": "j@x.io", "password": GUEST_PASSWORD}).status_code == 302


def test_guessing_from_many_addresses_does_not_lock_the_real_client_out(gallery):
    guessers = [WebClient(REMOTE_ADDR=f"10.0.{n // 200}.{n % 200}") for n in range(access.PASSWORD_PER_GALLERY.attempts)]
    for web in guessers:
        assert web.post(f"/g/{gallery.token}/enter/", {"name": "M", "email": "m@x.io",
                                                       "password": "guess"}).status_code == 403
    # Over the gallery-wide cap, an address that has failed here is refused even with the right password...
    resp = guessers[0].post(f"/g/{gallery.token}/enter/", {"name": "M", "email": "m@x.io", "password": GUEST_PASSWORD})
    assert resp.status_code == 429
    # ...but the client on a new device, with no failures of its own, gets in.
    assert WebClient(REMOTE_ADDR="192.0.2.1").post(f"/g/{gallery.token}/enter/", {
        "name": "J", "email": "j@x.io", "password": GUEST_PASSWORD}).status_code == 302


def test_parallel_wrong_passwords_are_counted_before_any_is_checked(gallery, rf, monkeypatch):
    """40 guesses from one address reaching the password check together: only the limit get hashed."""
    hold = Hold(40)

    def slow_wrong_check(raw, encoded, *args, **kwargs):
        hold()
        return False

    monkeypatch.setattr(access, "check_password", slow_wrong_check)
    request = rf.post("/", REMOTE_ADDR="203.0.113.50")
    results = held_in_parallel(40, lambda n: access.password_attempt(gallery=gallery, request=request,
                                                                     raw=f"guess-{n}"), hold)
    assert hold.checked == access.PASSWORD_PER_IP.attempts
    assert results.count(0) == access.PASSWORD_PER_IP.attempts  # wrong, checked
    assert all(wait > 0 for wait in results if wait != 0)  # the rest refused with a wait, unchecked


def test_comments_and_submit_lock_the_selection(gallery):
    web = enter(gallery)
    a, b, *_ = _keys(gallery)
    resp = web.post(f"/g/{gallery.token}/submit/", HTTP_ACCEPT="application/json")
    assert resp.status_code == 409 and "at least 1" in json.loads(resp.content)["error"]
    _heart(web, gallery, a)
    resp = web.post(f"/g/{gallery.token}/p/{a}/comment/", {"comment": "  crop tighter please "},
                    HTTP_ACCEPT="application/json")
    assert json.loads(resp.content) == {"comment": "crop tighter please"}
    assert web.post(f"/g/{gallery.token}/submit/", HTTP_ACCEPT="application/json").status_code == 200
    assert Selection.objects.get().is_submitted
    status, body = _heart(web, gallery, b)
    assert status == 409 and "can't be changed" in body["error"]
    page = web.get(f"/g/{gallery.token}/").content.decode()
    assert "Your selection is locked" in page and "Send selection" not in page


def test_comments_can_be_turned_off(alice_session, shoot):
    gallery = make_gallery(alice_session, shoot[0], comments_enabled=False)
    web = enter(gallery)
    resp = web.post(f"/g/{gallery.token}/p/{_keys(gallery)[0]}/comment/", {"comment": "x"},
                    HTTP_ACCEPT="application/json")
    assert resp.status_code == 409 and "turned off" in json.loads(resp.content)["error"]
    assert "g-lb-comment-text" not in web.get(f"/g/{gallery.token}/").content.decode()


def test_previews_come_in_three_sizes_and_only_from_this_gallery(alice_session, shoot, gallery):
    web = enter(gallery)
    key = _keys(gallery)[0]
    for size in previews.SIZES:
        resp = web.get(f"/g/{gallery.token}/p/{key}/{size}.jpg")
        assert resp.status_code == 200 and resp["Content-Type"] == "image/jpeg"
        assert "private" in resp["Cache-Control"]
    assert web.get(f"/g/{gallery.token}/p/{key}/2000.jpg").status_code == 404
    other = make_gallery(alice_session, shoot[1], title="Blinks")  # the blinking photos, another gallery
    foreign = str(other.items.first().uuid)
    assert web.get(f"/g/{gallery.token}/p/{foreign}/480.jpg").status_code == 404
    assert web.get(f"/g/{gallery.token}/p/{shoot[1][0].uuid}/480.jpg").status_code == 404  # a photo uuid
    resp = web.post(f"/g/{gallery.token}/p/{foreign}/favourite/", {"favourite": "1"}, HTTP_ACCEPT="application/json")
    assert resp.status_code == 404 and not other.items.first().selection_items.exists()


def test_downloads_off_never_serves_an_original(gallery):
    web = enter(gallery)
    key = _keys(gallery)[0]
    assert web.post(f"/g/{gallery.token}/p/{key}/download/").status_code == 404
    assert "Download" not in web.get(f"/g/{gallery.token}/").content.decode()


def test_a_watermarked_gallery_serves_only_watermarked_pixels(alice_session, shoot):
    from PIL import Image, ImageChops

    plain = make_gallery(alice_session, shoot[0][:1], title="plain")
    marked = make_gallery(alice_session, shoot[0][:1], title="marked", watermark_text="PROOF")

    def served(g) -> bytes:
        return b"".join(enter(g).get(f"/g/{g.token}/p/{g.items.first().uuid}/1600.jpg").streaming_content)

    clean, stamped = served(plain), served(marked)
    assert ImageChops.difference(Image.open(io.BytesIO(clean)), Image.open(io.BytesIO(stamped))).getbbox()
    assert stamped != shoot[0][0].original.open("rb").read() and stamped[:2] == b"\xff\xd8"
    assert enter(marked).post(f"/g/{marked.token}/p/{marked.items.first().uuid}/download/").status_code == 404


def test_web_size_and_original_downloads_count_against_the_quota(alice_session, shoot):
    web_g = make_gallery(alice_session, shoot[0], downloads="web", download_quota=2, title="web")
    guest = enter(web_g)
    a, b, c, *_ = _keys(web_g)
    resp = guest.post(f"/g/{web_g.token}/p/{a}/download/")
    body = b"".join(resp.streaming_content)
    assert resp.status_code == 200 and "attachment" in resp["Content-Disposition"]
    assert body != shoot[0][0].original.open("rb").read()  # the web-size JPEG, not the original
    assert "1 of 2 downloads used" in guest.get(f"/g/{web_g.token}/").content.decode()
    assert guest.post(f"/g/{web_g.token}/p/{a}/download/").status_code == 200  # the same photo again: free
    assert guest.post(f"/g/{web_g.token}/p/{b}/download/").status_code == 200
    resp = guest.post(f"/g/{web_g.token}/p/{c}/download/")
    assert resp.status_code == 409 and "All 2 downloads" in resp.content.decode()
    # A second guest shares the gallery's quota.
    assert enter(web_g, name="Tom", email="t@x.io").post(f"/g/{web_g.token}/p/{c}/download/").status_code == 409

    orig_g = make_gallery(alice_session, shoot[0], downloads="originals", title="originals")
    resp = enter(orig_g).post(f"/g/{orig_g.token}/p/{_keys(orig_g)[0]}/download/")
    item = orig_g.items.order_by("position").first()
    assert b"".join(resp.streaming_content) == item.photo.original.open("rb").read()
    assert 'filename="originals-001.jpg"' in resp["Content-Disposition"]  # no file name by default


def test_downloads_are_named_after_the_gallery_unless_guests_see_file_names(web, alice_session, shoot):
    gallery = make_gallery(alice_session, shoot[0], downloads="originals", title="Smith & Jones: wedding!")
    services.gallery_arrange(gallery=gallery, order=_keys(gallery)[::-1])  # KEEP_03 first, KEEP_00 last
    guest = enter(gallery)

    def name(key) -> str:
        resp = guest.post(f"/g/{gallery.token}/p/{key}/download/")
        assert resp.status_code == 200
        return resp["Content-Disposition"]

    first, *_, last = _keys(gallery)
    assert name(first) == 'attachment; filename="smith-jones-wedding-001.jpg"'
    assert name(last) == 'attachment; filename="smith-jones-wedding-004.jpg"'
    for key in _keys(gallery):
        assert "KEEP" not in name(key)

    # The option, from the photographer's form: originals keep their names, web size gets <stem>.jpg.
    form = {"title": gallery.title, "min_picks": 0, "downloads": "originals", "pick_rating": 0,
            "guests_see_file_names": "on"}
    assert web.post(f"/galleries/{gallery.uuid}/edit/", form).status_code == 302
    assert name(first) == 'attachment; filename="KEEP_03.JPG"'
    gallery.refresh_from_db()
    services.gallery_update(gallery=gallery, downloads="web")
    assert name(first) == 'attachment; filename="KEEP_03.jpg"'
    services.gallery_update(gallery=gallery, guests_see_file_names=False)
    assert name(first) == 'attachment; filename="smith-jones-wedding-001.jpg"'


def test_a_placeholder_until_the_previews_are_made(alice_session, shoot):
    gallery = make_gallery(alice_session, shoot[0], previews=False)
    web = enter(gallery)
    page = web.get(f"/g/{gallery.token}/").content.decode()
    assert page.count("is being prepared") == 4 and "/480.jpg" not in page
    assert web.get(f"/g/{gallery.token}/p/{_keys(gallery)[0]}/480.jpg").status_code == 404


def test_public_pages_are_not_indexed_and_the_token_never_leaves_in_a_referer(gallery):
    resp = WebClient().get(f"/g/{gallery.token}/")
    assert resp["X-Robots-Tag"] == "noindex, nofollow" and resp["Referrer-Policy"] == "same-origin"


def test_templates_have_no_inline_script_or_style():
    from pathlib import Path

    for path in Path("templates/galleries").glob("*.html"):
        text = path.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), path
        assert " style=" not in text and "<style" not in text, path
        assert not re.search(r"\son[a-z]+=", text), path  # no onclick= handlers either


def test_the_gallery_page_reads_a_fixed_number_of_queries(alice_session):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    keep, _ = judged_shoot(alice_session, keepers=8, blinks=0)
    counts = []
    for photos, hearts in ((keep[:2], 1), (keep, 6)):
        gallery = make_gallery(alice_session, photos, title=f"{len(photos)}")
        web = enter(gallery)
        for key in _keys(gallery)[:hearts]:
            _heart(web, gallery, key)
        with CaptureQueriesContext(connection) as ctx:
            assert web.get(f"/g/{gallery.token}/").status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1] <= 5, counts


@pytest.mark.parametrize("profile, shown", [({}, None), ({"name": "Carol Reyes"}, "Carol Reyes"),
                                            ({"name": "Carol Reyes", "studio_name": "Lumen Studio"}, "Lumen Studio")])
def test_guests_see_the_studio_or_the_photographers_name_never_their_login_email(db, profile, shown):
    from django.core import mail

    from tests.factories import make_session, make_user

    carol = make_user("carol.login@example.com", **profile)
    session = make_session(carol, title="Reyes family")
    gallery = make_gallery(session, judged_shoot(session)[0], password=GUEST_PASSWORD)
    entry = WebClient().get(f"/g/{gallery.token}/").content.decode()  # before any password
    inside = enter(gallery).get(f"/g/{gallery.token}/").content.decode()
    services.gallery_send_link(gallery=gallery, to="client@example.com")
    link_mail = mail.outbox[-1]
    for text in (entry, inside, link_mail.body, link_mail.subject):
        assert "carol.login" not in text
    if shown:
        assert shown in entry and shown in inside and f"{shown} has shared your photos" in link_mail.body
    else:
        assert 'class="g-kicker"' not in entry and "Your photographer has shared" in link_mail.body


def test_every_guest_answer_is_private_and_never_stored(alice_session, shoot):
    gallery = make_gallery(alice_session, shoot[0], downloads="web")
    web = WebClient()
    answers = [web.get(f"/g/{gallery.token}/"),  # the entry page
               web.post(f"/g/{gallery.token}/enter/", {"name": "Jane", "email": "jane@example.com"})]
    key = _keys(gallery)[0]
    answers += [
        web.get(f"/g/{gallery.token}/"),
        web.get(f"/g/{gallery.token}/p/{key}/480.jpg"),
        web.post(f"/g/{gallery.token}/p/{key}/favourite/", {"favourite": "1"}, HTTP_ACCEPT="application/json"),
        web.post(f"/g/{gallery.token}/p/{key}/comment/", {"comment": "nice"}, HTTP_ACCEPT="application/json"),
        web.post(f"/g/{gallery.token}/p/{key}/download/"),
        web.post(f"/g/{gallery.token}/submit/", HTTP_ACCEPT="application/json"),
        web.get("/g/not-a-real-token/"),
    ]
    assert [a.status_code for a in answers] == [200, 302, 200, 200, 200, 200, 200, 200, 404]
    for answer in answers:
        directives = {d.strip() for d in answer["Cache-Control"].split(",")}
        assert {"private", "no-store"} <= directives and not any(d.startswith("max-age") for d in directives)


def test_the_picks_csv_is_never_stored_and_only_for_its_owner(web, bob_web, gallery):
    enter(gallery)
    for fmt in ("csv", "xmp"):
        resp = web.get(f"/galleries/{gallery.uuid}/export/{fmt}/")
        assert resp.status_code == 200
        assert {d.strip() for d in resp["Cache-Control"].split(",")} >= {"private", "no-store"}
        assert bob_web.get(f"/galleries/{gallery.uuid}/export/{fmt}/").status_code == 404
