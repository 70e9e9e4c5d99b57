"""Galleries, the photographer's side: creating from keepers/all/picked, options, arranging, revoke and
re-open, the link email, what guests chose (per guest and combined), reopening, the badge."""
from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from galleries import selectors, services
from galleries.selections import selection_set_favourite, selection_submit
from review import services as review_services
from sessions_app.models import Gallery, GalleryPhoto, Photo, Selection
from tests.factories import make_session
from tests.gallery_builders import GUEST_PASSWORD, enter, judged_shoot, make_gallery


@pytest.fixture(autouse=True)
def queued_previews(monkeypatch) -> list[int]:
    sent: list[int] = []
    monkeypatch.setattr(services, "gallery_previews_enqueue", lambda *, gallery: sent.append(gallery.id))
    return sent


@pytest.fixture
def shoot(alice_session):
    return judged_shoot(alice_session)


def _names(gallery: Gallery) -> list[str]:
    return [i.photo.original_filename for i in selectors.gallery_items(gallery=gallery)]


def test_a_new_gallery_starts_with_the_keepers_and_a_256_bit_token(web, alice_session, shoot, queued_previews):
    resp = web.post(f"/sessions/{alice_session.uuid}/galleries/new/", {
        "source": "keepers", "title": "Smith wedding", "min_picks": 0, "downloads": "off", "pick_rating": 0,
        "pick_label": "Green", "max_picks": 3, "comments_enabled": "on"})
    gallery = Gallery.objects.get()
    assert resp.status_code == 302 and resp["Location"] == f"/galleries/{gallery.uuid}/"
    assert _names(gallery) == [f"KEEP_{i:02d}.JPG" for i in range(4)]  # no blinking photo
    assert len(gallery.token) >= 43  # token_urlsafe(32): 256 bits, base64
    assert gallery.max_picks == 3 and gallery.cover == gallery.items.order_by("position").first()
    assert queued_previews == [gallery.id]


def test_every_photo_or_a_hand_picked_set(web, alice_session, shoot):
    keep, blink = shoot
    web.post(f"/sessions/{alice_session.uuid}/galleries/new/", {
        "source": "all", "title": "All", "min_picks": 0, "downloads": "off", "pick_rating": 0})
    web.post(f"/sessions/{alice_session.uuid}/galleries/new/", {
        "source": "picked", "title": "Picked", "photos": [str(blink[0].uuid), str(keep[1].uuid)],
        "min_picks": 0, "downloads": "off", "pick_rating": 0})
    assert len(_names(Gallery.objects.get(title="All"))) == 6
    assert sorted(_names(Gallery.objects.get(title="Picked"))) == ["BLINK_00.JPG", "KEEP_01.JPG"]


def test_unprocessed_and_failed_photos_never_go_in(alice_session, shoot):
    queued = Photo.objects.create(session=alice_session, original_filename="Q.JPG", extension=".jpg",
                                  content_type="image/jpeg", sha256="q" * 64, bytes=1)
    with pytest.raises(ValidationError):
        services.gallery_create(session=alice_session, photos=[queued], title="x")
    other = make_session(alice_session.owner)
    with pytest.raises(ValidationError):
        services.gallery_create(session=other, photos=shoot[0], title="x")


def test_a_watermark_means_no_downloads_in_the_service_and_the_database(alice_session, shoot):
    with pytest.raises(ValidationError) as exc:
        make_gallery(alice_session, shoot[0], watermark_text="© Studio", downloads="originals")
    assert "downloads" in exc.value.error_dict
    gallery = make_gallery(alice_session, shoot[0], watermark_text="© Studio")
    with pytest.raises(IntegrityError), transaction.atomic():
        Gallery.objects.filter(pk=gallery.pk).update(downloads="web")


def test_limits_must_make_sense(alice_session, shoot):
    with pytest.raises(ValidationError):
        make_gallery(alice_session, shoot[0], min_picks=5, max_picks=3)
    with pytest.raises(ValidationError):
        make_gallery(alice_session, shoot[0], pick_label="Magenta")


def test_changing_the_watermark_queues_new_previews_and_hides_the_old_ones(alice_session, shoot, queued_previews):
    gallery = make_gallery(alice_session, shoot[0])
    assert selectors.preview_progress(gallery=gallery) == (4, 4)
    services.gallery_update(gallery=gallery, title=gallery.title, watermark_text="PROOF")
    assert selectors.preview_progress(gallery=gallery) == (0, 4)
    assert queued_previews == [gallery.id, gallery.id]
    # Other options alone don't remake anything.
    services.gallery_update(gallery=gallery, title="Renamed", watermark_text="PROOF", max_picks=2)
    assert len(queued_previews) == 2


def test_the_edit_form_sets_and_removes_the_password(web, alice_session, shoot):
    gallery = make_gallery(alice_session, shoot[0])
    form = {"title": "T", "min_picks": 0, "downloads": "off", "pick_rating": 0, "password": GUEST_PASSWORD}
    assert web.post(f"/galleries/{gallery.uuid}/edit/", form).status_code == 302
    gallery.refresh_from_db()
    assert gallery.has_password and GUEST_PASSWORD not in gallery.password_hash
    web.post(f"/galleries/{gallery.uuid}/edit/", {**form, "password": "", "remove_password": "on"})
    gallery.refresh_from_db()
    assert not gallery.has_password


def test_arranging_orders_photos_sets_the_cover_and_refuses_strangers(web, alice_session, shoot):
    gallery = make_gallery(alice_session, shoot[0])
    items = list(gallery.items.order_by("position"))
    order = [items[3], items[1], items[0], items[2]]
    resp = web.post(f"/galleries/{gallery.uuid}/arrange/", {"item": [str(i.uuid) for i in order],
                                                             "cover": str(items[2].uuid)})
    assert resp.status_code == 302
    assert [i.id for i in selectors.gallery_items(gallery=gallery)] == [i.id for i in order]
    gallery.refresh_from_db()
    assert gallery.cover_id == items[2].id
    stranger = make_gallery(alice_session, shoot[1]).items.first()
    with pytest.raises(ValidationError):
        services.gallery_arrange(gallery=gallery, order=[str(stranger.uuid)])


def test_revoke_and_reopen(web, alice_session, shoot):
    gallery = make_gallery(alice_session, shoot[0])
    web.post(f"/galleries/{gallery.uuid}/revoke/")
    gallery.refresh_from_db()
    assert gallery.is_revoked and not gallery.is_open
    web.post(f"/galleries/{gallery.uuid}/reopen/")
    gallery.refresh_from_db()
    assert gallery.is_open


def test_the_link_goes_out_by_email(web, alice_session, shoot, settings):
    settings.SITE_URL = "https://photos.example.com"
    gallery = make_gallery(alice_session, shoot[0], max_picks=5)
    resp = web.post(f"/galleries/{gallery.uuid}/send/", {"to": "client@example.com", "note": "Enjoy!"})
    assert resp.status_code == 302 and len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert f"https://photos.example.com/g/{gallery.token}/" in body and "Enjoy!" in body and "5 photos" in body
    assert mail.outbox[0].to == ["client@example.com"]


def test_the_detail_page_shows_each_guest_and_the_combined_picks(web, alice_session, shoot):
    gallery = make_gallery(alice_session, shoot[0], max_picks=3)
    items = list(gallery.items.order_by("position"))
    jane = Selection.objects.create(gallery=gallery, name="Jane", email="jane@example.com")
    tom = Selection.objects.create(gallery=gallery, name="Tom", email="tom@example.com")
    for s, picks in ((jane, items[:2]), (tom, items[1:3])):
        for item in picks:
            selection_set_favourite(selection=s, item=item, favourite=True)
    selection_submit(selection=jane)
    page = web.get(f"/galleries/{gallery.uuid}/")
    chosen = page.context["chosen"]
    assert [g.count for g in chosen.guests] == [2, 2]
    assert [p.item.id for p in chosen.combined] == [i.id for i in items[:3]]
    assert [s.name for s in chosen.combined[1].guests] == ["Jane", "Tom"]
    html = page.content.decode()
    assert "2 of 3" in html and "new" in html and "KEEP_00, KEEP_01, KEEP_02" in html


def test_a_submission_emails_the_photographer_and_badges_the_nav(web, alice, alice_session, shoot,
                                                                 django_capture_on_commit_callbacks):
    gallery = make_gallery(alice_session, shoot[0])
    jane = Selection.objects.create(gallery=gallery, name="Jane", email="jane@example.com")
    selection_set_favourite(selection=jane, item=gallery.items.first(), favourite=True)
    with django_capture_on_commit_callbacks(execute=True):
        selection_submit(selection=jane)
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [alice.email]
    assert "Jane" in mail.outbox[0].subject and "1 favourite" in mail.outbox[0].body
    assert selectors.unseen_submissions_count(owner=alice) == 1
    assert 'class="nav-badge"' in web.get("/").content.decode()
    web.post(f"/galleries/{gallery.uuid}/guests/{jane.uuid}/seen/")
    assert selectors.unseen_submissions_count(owner=alice) == 0
    assert 'class="nav-badge"' not in web.get("/").content.decode()


def test_reopening_a_selection_lets_the_guest_change_it(web, alice_session, shoot):
    gallery = make_gallery(alice_session, shoot[0])
    jane = Selection.objects.create(gallery=gallery, name="Jane", email="jane@example.com")
    first, second = gallery.items.order_by("position")[:2]
    selection_set_favourite(selection=jane, item=first, favourite=True)
    selection_submit(selection=jane)
    web.post(f"/galleries/{gallery.uuid}/guests/{jane.uuid}/reopen/")
    jane.refresh_from_db()
    assert not jane.is_submitted
    assert selection_set_favourite(selection=jane, item=second, favourite=True).count == 2


def test_a_reprocessed_or_relabelled_photo_stays_in_its_gallery(alice_session, shoot, alice):
    # The gallery is the photographer's choice at creation; a later correction doesn't pull photos out.
    gallery = make_gallery(alice_session, shoot[0])
    review_services.correction_create(photo=shoot[0][0], label="BLINKING", by=alice)
    assert GalleryPhoto.objects.filter(gallery=gallery).count() == 4


def test_the_gallery_list_counts(web, alice_session, shoot):
    gallery = make_gallery(alice_session, shoot[0])
    enter(gallery)
    row = web.get("/galleries/").context["galleries"][0]
    assert (row.photo_count, row.guest_count, row.submitted_count) == (4, 1, 0)


def test_the_admin_lists_galleries_without_their_secrets(alice_session, shoot):
    from django.test import Client as WebClient

    from tests.factories import make_user

    gallery = make_gallery(alice_session, shoot[0], password=GUEST_PASSWORD)
    enter(gallery)
    staff = WebClient()
    staff.force_login(make_user("ops@example.com", is_staff=True, is_superuser=True))
    listing = staff.get("/admin/sessions_app/gallery/")
    assert listing.status_code == 200 and listing.context["cl"].result_list[0].n_guests == 1
    page = staff.get(f"/admin/sessions_app/gallery/{gallery.pk}/change/").content.decode()
    assert "Jane" in page and gallery.token not in page and gallery.password_hash not in page


def test_an_expiry_day_from_the_form_closes_the_link_after_that_day(web, alice_session, shoot):
    import datetime as dt

    from django.utils import timezone

    gallery = make_gallery(alice_session, shoot[0])
    guest = enter(gallery)
    form = {"title": "T", "min_picks": 0, "downloads": "off", "pick_rating": 0}
    today = timezone.localdate()
    web.post(f"/galleries/{gallery.uuid}/edit/", {**form, "expires_on": today.isoformat()})
    gallery.refresh_from_db()
    assert gallery.is_open and timezone.localtime(gallery.expires_at).date() == today
    assert guest.get(f"/g/{gallery.token}/").status_code == 200
    web.post(f"/galleries/{gallery.uuid}/edit/", {**form, "expires_on": (today - dt.timedelta(days=1)).isoformat()})
    gallery.refresh_from_db()
    assert gallery.is_expired and guest.get(f"/g/{gallery.token}/").status_code == 404
    assert "Expired" in web.get(f"/galleries/{gallery.uuid}/").content.decode()
    web.post(f"/galleries/{gallery.uuid}/reopen/")  # re-opening an expired link clears the expiry
    gallery.refresh_from_db()
    assert gallery.expires_at is None and guest.get(f"/g/{gallery.token}/").status_code == 200


def test_a_partial_update_keeps_the_other_options(alice_session, shoot):
    gallery = make_gallery(alice_session, shoot[0], downloads="web", download_quota=5, min_picks=1, max_picks=4,
                           pick_label="Blue", pick_rating=3)
    services.gallery_update(gallery=gallery, message="New note")
    gallery.refresh_from_db()
    assert (gallery.downloads, gallery.download_quota, gallery.min_picks, gallery.max_picks, gallery.pick_label,
            gallery.pick_rating, gallery.message) == ("web", 5, 1, 4, "Blue", 3, "New note")


def test_a_mail_server_failure_is_a_message_not_an_error_page(web, alice_session, shoot, monkeypatch):
    import smtplib

    from galleries import notify

    def down(**kwargs):
        raise smtplib.SMTPConnectError(421, "no")

    monkeypatch.setattr(notify, "send_gallery_link", down)
    gallery = make_gallery(alice_session, shoot[0])
    resp = web.post(f"/galleries/{gallery.uuid}/send/", {"to": "c@example.com"}, follow=True)
    assert resp.status_code == 200 and "could not be sent" in resp.content.decode()


def test_email_the_link_is_no_mail_relay(web, alice_session, shoot):
    """30 quick sends to any addresses: the hourly cap holds, the refusal says why, nothing else goes out."""
    from galleries import notify

    gallery = make_gallery(alice_session, shoot[0], title="x" * 200)
    for n in range(30):
        resp = web.post(f"/galleries/{gallery.uuid}/send/", {"to": f"victim{n}@example.com", "note": "buy now"},
                        follow=True)
    assert len(mail.outbox) == notify.LINK_MAILS_PER_OWNER.attempts
    assert "Not sent: Up to 20 link emails an hour" in resp.content.decode()
    assert len(mail.outbox[0].subject) < 80  # the 200-character title is not the payload


def test_one_address_gets_the_link_at_most_three_times_a_day(web, alice_session, shoot):
    gallery = make_gallery(alice_session, shoot[0])
    for _ in range(5):
        web.post(f"/galleries/{gallery.uuid}/send/", {"to": "Client@Example.com"})
    assert len(mail.outbox) == 3


def test_a_failed_link_mail_does_not_use_up_the_limit(web, alice_session, shoot, monkeypatch):
    import smtplib

    from galleries import notify

    real = notify.send_gallery_link

    def down(**kwargs):
        raise smtplib.SMTPConnectError(421, "no")

    gallery = make_gallery(alice_session, shoot[0])
    monkeypatch.setattr(notify, "send_gallery_link", down)
    for _ in range(3):
        web.post(f"/galleries/{gallery.uuid}/send/", {"to": "c@example.com"})
    monkeypatch.setattr(notify, "send_gallery_link", real)
    web.post(f"/galleries/{gallery.uuid}/send/", {"to": "c@example.com"})
    assert len(mail.outbox) == 1


def test_the_share_box_says_how_many_link_emails_may_go_out(web, alice_session, shoot):
    gallery = make_gallery(alice_session, shoot[0])
    page = web.get(f"/galleries/{gallery.uuid}/").content.decode()
    assert "Up to 20 link emails an hour, and 3 a day to the same address." in page
