"""What a guest types, on its way into mail headers and the photographer's page: names and emails cleaned on
entry, the "sent their selection" mail going out whatever the name holds, and a mail that fails shown to the
photographer next to that selection instead of only being logged."""
from __future__ import annotations

import json
import smtplib

import pytest
from django.core import mail

from galleries import guest_text, notify, services
from galleries.selections import selection_set_favourite, selection_submit
from sessions_app.models import Selection
from tests.gallery_builders import enter, judged_shoot, make_gallery


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    monkeypatch.setattr(services, "gallery_previews_enqueue", lambda *, gallery: None)


@pytest.fixture
def gallery(alice_session):
    return make_gallery(alice_session, judged_shoot(alice_session)[0])


def _submit(selection, capture):
    selection_set_favourite(selection=selection, item=selection.gallery.items.first(), favourite=True)
    with capture(execute=True):
        selection_submit(selection=selection)


def test_one_line_drops_control_characters_and_collapses_whitespace():
    assert guest_text.one_line("  Jane\r\n\tDoe\x00 \u2028Bcc:\u202e x ", max_length=120) == "Jane Doe Bcc: x"
    assert guest_text.one_line("Ana\u200dMaria  ", max_length=4) == "Ana\u200d"  # joiners stay
    assert guest_text.email_address(" Jane@Example.COM\n") == "jane@example.com"
    assert guest_text.multi_line(" crop\r\ntighter\x00\u202e please\t ", max_length=1000) == "crop\ntighter please"


def test_a_name_with_a_line_break_is_cleaned_when_the_guest_enters(gallery):
    enter(gallery, name="Jane\r\nBcc: someone@example.net", email=" Jane@Example.com ")
    selection = Selection.objects.get()
    assert (selection.name, selection.email) == ("Jane Bcc: someone@example.net", "jane@example.com")


def test_a_name_of_only_control_characters_is_refused_on_the_form(gallery):
    from django.test import Client as WebClient

    resp = WebClient().post(f"/g/{gallery.token}/enter/", {"name": "\x01\x02", "email": "j@example.com"})
    assert resp.status_code == 200 and "Please give your name." in resp.content.decode()
    assert not Selection.objects.exists()


def test_comments_keep_line_breaks_but_no_other_control_characters(gallery):
    web = enter(gallery)
    key = gallery.items.first().uuid
    resp = web.post(f"/g/{gallery.token}/p/{key}/comment/", {"comment": "warmer\r\nplease\x00\u202e!"},
                    HTTP_ACCEPT="application/json")
    assert json.loads(resp.content) == {"comment": "warmer\nplease!"}


def test_the_submission_mail_goes_out_even_for_a_name_stored_with_a_line_break(
        alice, gallery, django_capture_on_commit_callbacks):
    # A row from before names were cleaned on entry: the mail header is cleaned at sending too.
    jane = Selection.objects.create(gallery=gallery, name="Jane\nDoe", email="jane@example.com")
    _submit(jane, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [alice.email]
    assert mail.outbox[0].subject == "Jane Doe sent their selection: Smith wedding"
    jane.refresh_from_db()
    assert jane.notify_error == ""


def test_a_mail_failure_is_shown_next_to_the_selection_on_the_photographers_page(
        web, bob_web, gallery, monkeypatch, django_capture_on_commit_callbacks):
    def server_gone(**kwargs):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    monkeypatch.setattr(notify, "send_mail", server_gone)
    jane = Selection.objects.create(gallery=gallery, name="Jane", email="jane@example.com")
    _submit(jane, django_capture_on_commit_callbacks)  # the guest's submission still succeeds
    jane.refresh_from_db()
    assert jane.is_submitted
    assert jane.notify_error == "SMTPServerDisconnected: Connection unexpectedly closed"
    page = web.get(f"/galleries/{gallery.uuid}/").content.decode()
    assert ("We couldn't email you about this selection: SMTPServerDisconnected: Connection unexpectedly closed"
            in page.replace("&#x27;", "'"))
    assert bob_web.get(f"/galleries/{gallery.uuid}/").status_code == 404  # another photographer sees nothing

    # Reopened and sent again with the mail working: the warning goes.
    monkeypatch.setattr(notify, "send_mail", mail.send_mail)
    web.post(f"/galleries/{gallery.uuid}/guests/{jane.uuid}/reopen/")
    with django_capture_on_commit_callbacks(execute=True):
        selection_submit(selection=jane)
    jane.refresh_from_db()
    assert jane.notify_error == "" and len(mail.outbox) == 1
    assert "couldn't email you" not in web.get(f"/galleries/{gallery.uuid}/").content.decode().replace("&#x27;", "'")
