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


def _signup(client, email: str, *, follow: bool = False, **extra):
    return client.post("/accounts/signup/", {"email": email, "name": "Nia", "studio_name": "Nia Photo", **extra},
                       follow=follow)


def _mailed_link(message) -> str:
    return re.search(r"http://127\.0\.0\.1:8000(/accounts/\S+/)", message.body).group(1)


def test_signup_mails_a_link_that_sets_the_password_activates_and_logs_in(client, db, settings):
    settings.EYESPY_ALLOW_SIGNUP = True
    resp = _signup(client, "New@Studio.com")
    assert resp.status_code == 302 and resp["Location"] == "/accounts/signup/sent/"
    user = User.objects.get()
    assert (user.email, user.name, user.studio_name) == ("new@studio.com", "Nia", "Nia Photo")
    assert not user.is_active and not user.has_usable_password()  # nothing usable until the inbox answers
    assert client.get("/").status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].subject == "Confirm your Eye Spy account"

    resp = client.get(_mailed_link(mail.outbox[0]), follow=True)
    assert "Choose your password" in resp.content.decode()
    resp = client.post(resp.redirect_chain[-1][0], {"new_password1": PASSWORD, "new_password2": PASSWORD})
    assert resp.status_code == 302 and resp["Location"] == "/"
    user.refresh_from_db()
    assert user.is_active and user.check_password(PASSWORD)
    assert client.get("/").context["user"] == user
    # The link works once.
    client.post("/accounts/logout/")
    assert "no longer works" in client.get(_mailed_link(mail.outbox[0]), follow=True).content.decode()


def test_signup_answers_the_same_for_a_taken_email(client, alice, settings):
    settings.EYESPY_ALLOW_SIGNUP = True
    answers = {}
    for email in ("ALICE@example.com", "someone-new@example.com"):
        resp = _signup(client, email, follow=True)
        page = re.sub(r'"X-CSRFToken": "\w+"|name="csrfmiddlewaretoken" value="\w+"', "csrf", resp.content.decode())
        answers[email] = (resp.redirect_chain, resp.status_code, page)
    assert answers["ALICE@example.com"] == answers["someone-new@example.com"]
    assert "already" not in answers["ALICE@example.com"][2]
    # Alice's own inbox is told (with a reset link); her account is untouched.
    to_alice = [m for m in mail.outbox if m.to == ["alice@example.com"]]
    assert len(to_alice) == 1 and "already has an Eye Spy account" in to_alice[0].body
    assert "/accounts/password/reset/" in _mailed_link(to_alice[0])
    alice.refresh_from_db()
    assert alice.is_active and alice.check_password(PASSWORD) and alice.name != "Nia"


def test_signup_again_for_a_pending_account_resends_without_renaming_it(client, db, settings):
    settings.EYESPY_ALLOW_SIGNUP = True
    _signup(client, "pending@example.com")
    _signup(client, "pending@example.com", name="Mallory")
    user = User.objects.get()
    assert user.name == "Nia" and not user.is_active
    assert [m.subject for m in mail.outbox] == ["Confirm your Eye Spy account"] * 2


def test_signup_rejects_a_bad_email_and_is_throttled_per_address(client, db, settings):
    settings.EYESPY_ALLOW_SIGNUP = True
    assert "Enter a valid email address" in _signup(client, "not-an-email").content.decode()
    for i in range(10):
        assert _signup(client, f"user{i}@example.com").status_code == 302
    resp = _signup(client, "one-more@example.com")
    assert resp.status_code == 200 and "Too many sign-ups from your address; try again in 60 minutes." in resp.content.decode()
    assert User.objects.count() == 10
    # Another address may still sign up.
    from django.test import Client as WebClient

    assert _signup(WebClient(REMOTE_ADDR="10.0.0.9"), "elsewhere@example.com").status_code == 302


def test_signup_mails_are_capped_per_email_silently(client, db, settings):
    settings.EYESPY_ALLOW_SIGNUP = True
    for _ in range(5):
        assert _signup(client, "flood@example.com")["Location"] == "/accounts/signup/sent/"
    assert len(mail.outbox) == 3


def test_signup_switched_off_is_404(client, db, settings):
    settings.EYESPY_ALLOW_SIGNUP = False
    assert client.get("/accounts/signup/").status_code == 404
    assert client.get("/accounts/signup/sent/").status_code == 404
    resp = client.post("/accounts/signup/", {"email": "x@example.com"})
    assert resp.status_code == 404
    assert not User.objects.exists() and mail.outbox == []


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
    # Built from SITE_URL, not from the request's Host header (which a client can forge).
    assert "testserver" not in message.body
    link = re.search(r"http://127\.0\.0\.1:8000(/accounts/password/reset/\S+/)", message.body).group(1)
    resp = client.get(link, follow=True)  # Django swaps the token for a session key
    assert "Choose a new password" in resp.content.decode()
    set_url = resp.redirect_chain[-1][0]
    resp = client.post(set_url, {"new_password1": "brand-new-secret-77", "new_password2": "brand-new-secret-77"})
    assert resp.status_code == 302 and resp["Location"] == "/accounts/password/reset/done/"
    alice.refresh_from_db()
    assert alice.check_password("brand-new-secret-77")
    # The link works once.
    assert "no longer works" in client.get(link, follow=True).content.decode()


def test_password_reset_link_uses_site_url_even_with_a_forged_host(client, alice, settings):
    settings.SITE_URL = "https://photos.example.com"
    settings.ALLOWED_HOSTS = ["photos.example.com", "evil.example.net"]
    client.post("/accounts/password/reset/", {"email": "alice@example.com"}, HTTP_HOST="evil.example.net")
    assert "https://photos.example.com/accounts/password/reset/" in mail.outbox[0].body
    assert "evil.example.net" not in mail.outbox[0].body


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


def test_the_signup_page_says_where_the_mail_went_without_a_mail_server(client, db, settings):
    settings.EYESPY_ALLOW_SIGNUP = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    page = _signup(client, "local@studio.com", follow=True).content.decode()
    assert "printed, link included, in the terminal window" in page and "spam folder" not in page


def test_links_follow_the_port_bin_run_serves():
    """PORT=8765 bin/run: mails and the gallery's links point at :8765, not the default :8000."""
    import os
    import subprocess
    import sys

    code = "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'eyespy_site.settings'); django.setup(); " \
           "from django.conf import settings; print(settings.SITE_URL)"
    env = {k: v for k, v in os.environ.items() if k != "SITE_URL"}
    run = lambda extra: subprocess.run([sys.executable, "-c", code], env={**env, **extra}, capture_output=True,  # noqa: E731
                                       text=True, check=True).stdout.strip()
    assert run({"PORT": "8765"}) == "http://127.0.0.1:8765"
    assert run({"PORT": "8765", "SITE_URL": "https://photos.example.com/"}) == "https://photos.example.com"
