"""Log in by email, sign-up (switchable), password change and reset."""
from __future__ import annotations

import re

import pytest
from django.core import mail

from sessions_app import services
from sessions_app.models import User
from tests.factories import PASSWORD, make_user


def test_login_with_email_any_case_and_logout(client, alice):
    resp = client.post("/accounts/login/", {"username": "Alice@Example.COM", "password": PASSWORD})
    assert resp.status_code == 302 and resp["Location"] == "/"
    assert client.get("/").status_code == 200
    resp = client.post("/accounts/logout/")
    assert resp.status_code == 302 and resp["Location"] == "/accounts/login/"
    assert client.get("/").status_code == 302


def test_login_wrong_password_shows_error(client, alice):
    resp = client.post("/accounts/login/", {"username": "alice@example.com", "password": "nope"})
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "That email and password don&#x27;t match an account." in html
    # Emails are matched in any case, so the message must not say both fields may be case-sensitive.
    assert "both fields may be case-sensitive" not in html and "(the email isn&#x27;t)" in html


def test_pages_need_login(client):
    resp = client.get("/")
    assert resp.status_code == 302 and resp["Location"] == "/accounts/login/?next=/"


def test_login_page_links_signup_only_when_enabled(client, settings):
    settings.EYESPY_ALLOW_SIGNUP = True
    assert 'href="/accounts/signup/"' in client.get("/accounts/login/").content.decode()
    settings.EYESPY_ALLOW_SIGNUP = False
    assert 'href="/accounts/signup/"' not in client.get("/accounts/login/").content.decode()


def test_signup_creates_account_and_logs_in(client, db, settings):
    settings.EYESPY_ALLOW_SIGNUP = True
    resp = client.post(
        "/accounts/signup/",
        {"email": "New@Studio.com", "name": "Nia", "studio_name": "Nia Photo", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert resp.status_code == 302 and resp["Location"] == "/"
    user = User.objects.get()
    assert (user.email, user.name, user.studio_name) == ("new@studio.com", "Nia", "Nia Photo")
    assert user.check_password(PASSWORD)
    assert client.get("/").context["user"] == user


def test_signup_rejects_taken_email_mismatch_and_weak_password(client, alice, settings):
    settings.EYESPY_ALLOW_SIGNUP = True
    resp = client.post("/accounts/signup/", {"email": "ALICE@example.com", "password1": PASSWORD, "password2": PASSWORD})
    assert "already exists" in resp.content.decode()
    resp = client.post("/accounts/signup/", {"email": "c@example.com", "password1": PASSWORD, "password2": PASSWORD + "x"})
    assert "don&#x27;t match" in resp.content.decode()
    resp = client.post("/accounts/signup/", {"email": "d@example.com", "password1": "123", "password2": "123"})
    assert "too short" in resp.content.decode()
    assert User.objects.count() == 1


def test_signup_switched_off_is_404(client, db, settings):
    settings.EYESPY_ALLOW_SIGNUP = False
    assert client.get("/accounts/signup/").status_code == 404
    resp = client.post("/accounts/signup/", {"email": "x@example.com", "password1": PASSWORD, "password2": PASSWORD})
    assert resp.status_code == 404
    assert not User.objects.exists()


def test_user_signup_service_refuses_duplicate_email(alice):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.user_signup(email="alice@EXAMPLE.com", password=PASSWORD)


def test_password_change(web, alice):
    assert web.get("/accounts/password/change/").status_code == 200
    resp = web.post(
        "/accounts/password/change/",
        {"old_password": PASSWORD, "new_password1": "a-new-long-secret-42", "new_password2": "a-new-long-secret-42"},
    )
    assert resp.status_code == 302 and resp["Location"] == "/accounts/password/change/done/"
    alice.refresh_from_db()
    assert alice.check_password("a-new-long-secret-42")
    assert "Password changed" in web.get(resp["Location"]).content.decode()


def test_password_reset_by_email_end_to_end(client, alice):
    resp = client.post("/accounts/password/reset/", {"email": "alice@example.com"})
    assert resp.status_code == 302 and resp["Location"] == "/accounts/password/reset/sent/"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@example.com"]
    assert message.subject == "Reset your Eye Spy password"
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/)", message.body).group(1)
    resp = client.get(link, follow=True)  # Django swaps the token for a session key
    assert "Choose a new password" in resp.content.decode()
    set_url = resp.redirect_chain[-1][0]
    resp = client.post(set_url, {"new_password1": "brand-new-secret-77", "new_password2": "brand-new-secret-77"})
    assert resp.status_code == 302 and resp["Location"] == "/accounts/password/reset/done/"
    alice.refresh_from_db()
    assert alice.check_password("brand-new-secret-77")
    # The link works once.
    assert "no longer works" in client.get(link, follow=True).content.decode()


def test_password_reset_for_unknown_email_sends_nothing_but_looks_the_same(client, db):
    resp = client.post("/accounts/password/reset/", {"email": "nobody@example.com"})
    assert resp.status_code == 302 and resp["Location"] == "/accounts/password/reset/sent/"
    assert mail.outbox == []


def test_inactive_user_cannot_log_in(client, db):
    make_user("gone@example.com", is_active=False)
    resp = client.post("/accounts/login/", {"username": "gone@example.com", "password": PASSWORD})
    assert resp.status_code == 200
    assert client.get("/").status_code == 302


def test_password_change_logs_out_other_devices_and_says_so(alice):
    from django.test import Client as WebClient

    here, elsewhere = WebClient(), WebClient()
    for c in (here, elsewhere):
        assert c.post("/accounts/login/", {"username": "alice@example.com", "password": PASSWORD}).status_code == 302
    resp = here.post(
        "/accounts/password/change/",
        {"old_password": PASSWORD, "new_password1": "a-new-long-secret-42", "new_password2": "a-new-long-secret-42"},
        follow=True,
    )
    html = resp.content.decode()
    assert "You stay logged in here" in html and "has been logged out" in html
    assert "stay logged in until they log out" not in html
    # What the page says is what happens: this browser stays in, the other one is sent to log in.
    assert here.get("/").status_code == 200
    assert elsewhere.get("/").status_code == 302 and "/accounts/login/" in elsewhere.get("/")["Location"]
