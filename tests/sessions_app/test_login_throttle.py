"""Login throttling (per email and client address, per address, per account for failing addresses), the admin's
login, and the password-reset cap (sessions_app/login_throttle.py)."""
from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client as WebClient

from sessions_app import login_throttle
from tests.factories import PASSWORD, make_user
from tests.parallel import Hold, held_in_parallel

LOGIN = "/accounts/login/"
RESET = "/accounts/password/reset/"


def _fail(client, email: str, times: int = 1, **extra):
    for _ in range(times):
        resp = client.post(LOGIN, {"username": email, "password": "wrong-password"}, **extra)
        assert resp.status_code == 200
    return resp


@pytest.fixture
def spy_authenticate(monkeypatch):
    """Calls of authenticate() made by the login form: a throttled attempt must make none."""
    import django.contrib.auth.forms as auth_forms

    calls: list[str] = []
    real = auth_forms.authenticate

    def spy(request=None, **credentials):
        calls.append(credentials.get("username"))
        return real(request, **credentials)

    monkeypatch.setattr(auth_forms, "authenticate", spy)
    return calls


# --- login, per email and address -------------------------------------------------------------------------


def test_ten_failures_lock_the_email_from_that_address_without_checking_the_password(client, alice, spy_authenticate):
    _fail(client, "alice@example.com", 10)
    assert len(spy_authenticate) == 10
    resp = client.post(LOGIN, {"username": "ALICE@example.com", "password": PASSWORD})  # right password, any case
    html = resp.content.decode()
    assert resp.status_code == 200
    assert "Too many failed attempts; try again in 15 minutes." in html
    assert len(spy_authenticate) == 10  # refused before authenticate()
    assert client.get("/").status_code == 302  # not logged in


def test_a_stranger_elsewhere_cannot_lock_the_owner_out(db, alice):
    stranger, owner = WebClient(REMOTE_ADDR="203.0.113.66"), WebClient(REMOTE_ADDR="198.51.100.7")
    _fail(stranger, "alice@example.com", 25)
    assert "Too many failed attempts" in _fail(stranger, "alice@example.com").content.decode()
    assert owner.post(LOGIN, {"username": "alice@example.com", "password": PASSWORD}).status_code == 302


def test_guessing_spread_over_many_addresses_locks_only_the_addresses_that_guessed(db, alice):
    for n in range(20):  # 20 addresses x 5 failures: no pair and no address reaches its own limit
        _fail(WebClient(REMOTE_ADDR=f"203.0.113.{n}"), "alice@example.com", 5)
    guesser = WebClient(REMOTE_ADDR="203.0.113.3")
    locked = guesser.post(LOGIN, {"username": "alice@example.com", "password": PASSWORD})
    assert "Too many failed attempts" in locked.content.decode()  # even with the right password
    owner = WebClient(REMOTE_ADDR="198.51.100.7")  # never failed on this account
    assert owner.post(LOGIN, {"username": "alice@example.com", "password": PASSWORD}).status_code == 302


def test_nine_failures_still_let_the_right_password_in_and_clear_the_count(client, alice):
    _fail(client, "alice@example.com", 9)
    resp = client.post(LOGIN, {"username": "alice@example.com", "password": PASSWORD})
    assert resp.status_code == 302 and resp["Location"] == "/"
    client.post("/accounts/logout/")
    # The success cleared the email's counter: nine more failures don't lock it.
    _fail(client, "alice@example.com", 9)
    assert client.post(LOGIN, {"username": "alice@example.com", "password": PASSWORD}).status_code == 302


def test_lock_is_per_email_and_counts_unknown_emails_too(client, alice, bob):
    _fail(client, "Nobody@Example.com", 10)
    assert "Too many failed attempts" in _fail(client, "nobody@example.com").content.decode()
    # Another account from the same address still logs in (the address is far below its own limit).
    assert client.post(LOGIN, {"username": "bob@example.com", "password": PASSWORD}).status_code == 302


# --- the Django admin's login -------------------------------------------------------------------------------

ADMIN_LOGIN = "/admin/login/"


def test_admin_login_is_throttled_like_the_apps(client, db, spy_authenticate):
    make_user("staff@example.com", is_staff=True)
    for _ in range(10):
        resp = client.post(ADMIN_LOGIN, {"username": "staff@example.com", "password": "wrong-password"})
        assert resp.status_code == 200
    resp = client.post(ADMIN_LOGIN, {"username": "staff@example.com", "password": PASSWORD, "next": "/admin/"})
    assert resp.status_code == 200 and "Too many failed attempts" in resp.content.decode()
    assert len(spy_authenticate) == 10
    assert client.get("/admin/").status_code == 302  # still not in
    # Its owner, from another address, still gets in.
    other = WebClient(REMOTE_ADDR="10.0.0.9")
    assert other.post(ADMIN_LOGIN, {"username": "staff@example.com", "password": PASSWORD, "next": "/admin/"}).status_code == 302
    assert other.get("/admin/").status_code == 200


def test_admin_and_app_logins_share_the_address_count(client, db, alice):
    for i in range(15):
        client.post(ADMIN_LOGIN, {"username": f"guess{i}@example.com", "password": "x"})
        _fail(client, f"other{i}@example.com")
    assert "Too many failed attempts" in client.post(LOGIN, {"username": "alice@example.com", "password": PASSWORD}).content.decode()


def test_lock_ends_when_the_window_closes(client, alice, clock):
    _fail(client, "alice@example.com", 10)
    clock(14 * 60)
    assert "try again in 1 minute." in _fail(client, "alice@example.com").content.decode()
    clock(60 + 1)
    assert client.post(LOGIN, {"username": "alice@example.com", "password": PASSWORD}).status_code == 302


# --- login, per client address ---------------------------------------------------------------------------


def test_thirty_failures_from_one_address_lock_that_address(client, db, alice, spy_authenticate):
    for i in range(30):
        _fail(client, f"guess{i}@example.com")  # a different email each time: no email reaches its limit
    resp = client.post(LOGIN, {"username": "alice@example.com", "password": PASSWORD})
    assert "Too many failed attempts; try again in 15 minutes." in resp.content.decode()
    assert len(spy_authenticate) == 30
    # Another address is not affected.
    other = WebClient(REMOTE_ADDR="10.0.0.9")
    assert other.post(LOGIN, {"username": "alice@example.com", "password": PASSWORD}).status_code == 302


def test_address_comes_from_x_forwarded_for_only_behind_trusted_proxies(rf, settings):
    request = rf.post(LOGIN, REMOTE_ADDR="172.18.0.5", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    settings.EYESPY_TRUSTED_PROXIES = 0
    assert login_throttle.client_ip(request) == "172.18.0.5"  # no proxy: the header is the client's to forge
    settings.EYESPY_TRUSTED_PROXIES = 1
    assert login_throttle.client_ip(request) == "203.0.113.7"  # what our proxy appended, not the forged entry
    settings.EYESPY_TRUSTED_PROXIES = 3
    assert login_throttle.client_ip(request) == "172.18.0.5"  # fewer entries than proxies: fall back


def test_behind_a_proxy_clients_are_counted_apart(client, db, alice, settings):
    settings.EYESPY_TRUSTED_PROXIES = 1
    for i in range(30):
        _fail(client, f"guess{i}@example.com", HTTP_X_FORWARDED_FOR="198.51.100.1")
    locked = client.post(LOGIN, {"username": "alice@example.com", "password": PASSWORD},
                         HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert "Too many failed attempts" in locked.content.decode()
    # Same proxy (REMOTE_ADDR), another visitor: let in.
    resp = client.post(LOGIN, {"username": "alice@example.com", "password": PASSWORD},
                       HTTP_X_FORWARDED_FOR="198.51.100.2")
    assert resp.status_code == 302


def test_failures_on_an_inactive_account_count_too(client, db):
    make_user("gone@example.com", is_active=False)
    for _ in range(12):
        resp = client.post(LOGIN, {"username": "gone@example.com", "password": PASSWORD})
        assert resp.status_code == 200
    # ModelBackend refuses inactive users like a wrong password, so these do count: the lock protects them too.
    assert "Too many failed attempts" in resp.content.decode()


def test_retry_message_wording():
    assert login_throttle.retry_message(1) == "Too many failed attempts; try again in 1 minute."
    assert login_throttle.retry_message(61) == "Too many failed attempts; try again in 2 minutes."
    assert login_throttle.retry_message(900) == "Too many failed attempts; try again in 15 minutes."


# --- password reset --------------------------------------------------------------------------------------


def test_five_reset_mails_per_email_per_hour_then_silence(client, alice, clock):
    for _ in range(7):
        resp = client.post(RESET, {"email": "Alice@example.com"})
        assert resp.status_code == 302 and resp["Location"] == "/accounts/password/reset/sent/"
    assert len(mail.outbox) == 5
    clock(60 * 60 + 1)
    client.post(RESET, {"email": "alice@example.com"})
    assert len(mail.outbox) == 6


def test_reset_over_the_limit_looks_the_same_for_known_and_unknown_emails(client, alice):
    answers = {}
    for email in ("alice@example.com", "nobody@example.com"):
        for _ in range(6):
            resp = client.post(RESET, {"email": email}, follow=True)
        page = re.sub(r'"X-CSRFToken": "\w+"|name="csrfmiddlewaretoken" value="\w+"', "csrf", resp.content.decode())
        answers[email] = (resp.redirect_chain, resp.status_code, page)
    assert answers["alice@example.com"] == answers["nobody@example.com"]
    assert "Too many" not in answers["alice@example.com"][2]
    assert len(mail.outbox) == 5  # alice's first five; nothing for the unknown address


# --- parallel attempts: counted before the password is checked -------------------------------------------


def _parallel_logins(monkeypatch, rf, n: int, *, email_for, ip_for, form_class=None) -> tuple[Hold, list[bool]]:
    """`n` logins reaching authenticate() together; authenticate is held, then answers 'wrong password'."""
    import django.contrib.auth.forms as auth_forms

    from sessions_app.forms import EmailAuthenticationForm

    hold = Hold(n)

    def slow_wrong_authenticate(request=None, **credentials):
        hold()
        return None

    monkeypatch.setattr(auth_forms, "authenticate", slow_wrong_authenticate)
    form_class = form_class or EmailAuthenticationForm

    def attempt(i: int) -> bool:
        request = rf.post(LOGIN, REMOTE_ADDR=ip_for(i))
        form = form_class(request, data={"username": email_for(i), "password": f"guess-{i}"})
        form.is_valid()
        return any(e.code == "throttled" for e in form.errors.as_data().get("__all__", []))

    return hold, held_in_parallel(n, attempt, hold)


def test_forty_parallel_logins_from_one_address_check_only_ten_passwords(db, monkeypatch, rf):
    hold, throttled = _parallel_logins(monkeypatch, rf, 40, email_for=lambda i: "alice@example.com",
                                       ip_for=lambda i: "203.0.113.5")
    assert hold.checked == login_throttle.LOGIN_PER_EMAIL_AND_IP.attempts
    assert throttled.count(True) == 40 - login_throttle.LOGIN_PER_EMAIL_AND_IP.attempts


def test_parallel_logins_over_many_accounts_stop_at_the_address_limit(db, monkeypatch, rf):
    hold, _ = _parallel_logins(monkeypatch, rf, 60, email_for=lambda i: f"user{i}@example.com",
                               ip_for=lambda i: "203.0.113.6")
    assert hold.checked == login_throttle.LOGIN_PER_IP.attempts


def test_parallel_admin_logins_are_counted_first_too(db, monkeypatch, rf):
    from sessions_app.forms import ThrottledAdminAuthenticationForm

    hold, _ = _parallel_logins(monkeypatch, rf, 25, email_for=lambda i: "admin@example.com",
                               ip_for=lambda i: "203.0.113.7", form_class=ThrottledAdminAuthenticationForm)
    assert hold.checked == login_throttle.LOGIN_PER_EMAIL_AND_IP.attempts


def test_a_right_password_gives_its_attempt_back(client, alice):
    _fail(client, "alice@example.com", 9)
    assert client.post(LOGIN, {"username": "alice@example.com", "password": PASSWORD}).status_code == 302
    assert login_throttle.count_of(login_throttle.LOGIN_PER_IP, "127.0.0.1") == 9  # the failures, not the success
    assert login_throttle.count_of(login_throttle.LOGIN_PER_EMAIL, "alice@example.com") == 9


def test_refused_attempts_do_not_add_to_the_counts(client, alice):
    _fail(client, "alice@example.com", 10)
    _fail(client, "alice@example.com", 5)  # refused: not checked, not counted
    assert login_throttle.count_of(login_throttle.LOGIN_PER_IP, "127.0.0.1") == 10
