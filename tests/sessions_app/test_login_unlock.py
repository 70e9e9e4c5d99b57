"""Emailed unlock links for a login locked from one address (sessions_app/login_unlock.py)."""
from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client as WebClient

from tests.factories import PASSWORD, make_user

LOGIN = "/accounts/login/"
UNLOCK = "/accounts/login/unlock/"
OWNER_IP = "198.51.100.7"


def _web(ip: str = OWNER_IP) -> WebClient:
    return WebClient(REMOTE_ADDR=ip)


def _lock(web: WebClient, email: str = "alice@example.com"):
    for _ in range(10):
        web.post(LOGIN, {"username": email, "password": "wrong-password"})
    return web.post(LOGIN, {"username": email, "password": PASSWORD})


def _log_in(web: WebClient, email: str = "alice@example.com") -> bool:
    return web.post(LOGIN, {"username": email, "password": PASSWORD}).status_code == 302


def _request_link(web: WebClient, email: str = "alice@example.com") -> str:
    resp = web.post(UNLOCK, {"email": email}, follow=True)
    assert resp.status_code == 200
    return resp.content.decode()


def _mailed_link() -> str:
    assert len(mail.outbox) == 1, [m.subject for m in mail.outbox]
    found = re.search(r"http://testserver(/accounts/login/unlock/[^/\s]+/)", mail.outbox[0].body)
    assert found, mail.outbox[0].body
    return found.group(1)


@pytest.fixture(autouse=True)
def _site_url(settings):
    settings.SITE_URL = "http://testserver"


def test_a_locked_login_offers_an_unlock_link_that_lets_the_owner_in(alice):
    web = _web()
    locked = _lock(web).content.decode()
    assert "Too many failed attempts" in locked
    assert f'action="{UNLOCK}"' in locked and 'value="alice@example.com"' in locked

    page = _request_link(web)
    assert "an unlock link is on its way" in page
    message = mail.outbox[0]
    assert message.to == ["alice@example.com"]
    assert "Unlock" in message.subject
    link = _mailed_link()

    assert 'type="submit">Unlock</button>' in web.get(link).content.decode()
    assert not _log_in(web)  # opening the link (a mail scanner would) changes nothing
    resp = web.post(link, follow=True)
    assert "Unlocked. Log in with your password." in resp.content.decode()
    assert _log_in(web)


def test_a_link_works_once(alice):
    web = _web()
    _lock(web)
    _request_link(web)
    link = _mailed_link()
    web.post(link)
    _lock(web)  # locked again
    resp = web.post(link)
    assert resp.status_code == 404 and "doesn't work any more" in resp.content.decode()
    assert web.get(link).status_code == 404
    assert not _log_in(web)


def test_a_link_expires_after_an_hour(alice, clock):
    web = _web()
    _lock(web)
    _request_link(web)
    link = _mailed_link()
    clock(61 * 60)
    _lock(web)  # the first lock's window closed meanwhile: lock again
    assert web.post(link).status_code == 404
    assert not _log_in(web)


def test_a_tampered_link_does_nothing(alice):
    web = _web()
    _lock(web)
    _request_link(web)
    link = _mailed_link()
    forged = link[:-3] + ("A" if link[-3] != "A" else "B") + link[-2:]
    assert web.post(forged).status_code == 404
    assert web.post(f"{UNLOCK}not-a-token/").status_code == 404
    assert not _log_in(web)


def test_the_answer_is_the_same_for_unknown_unlocked_and_locked_accounts(alice, bob):
    web = _web()
    _lock(web, "nobody@example.com")
    _lock(web, "alice@example.com")
    # An unknown email's login page offers the link too (its failures count the same way)...
    assert f'action="{UNLOCK}"' in _lock(web, "nobody@example.com").content.decode()
    pages = [_request_link(web, email) for email in ("nobody@example.com", "bob@example.com", "alice@example.com")]
    sentences = [re.search(r"<li class=\"msg-info\">(.*?)</li>", p).group(1) for p in pages]
    assert len(set(sentences)) == 1
    # ...but only the account that exists and is locked from here gets a mail.
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]


def test_a_stranger_cannot_use_the_link_to_unlock_their_own_guessing(alice):
    """The stranger locks the pair from their address and asks for a link: it goes to the owner's inbox,
    and pressing it clears the lock only where it is pressed."""
    stranger, owner = _web("203.0.113.66"), _web()
    _lock(stranger)
    _lock(owner)
    _request_link(stranger)
    owner.post(_mailed_link())
    assert _log_in(owner)
    assert not _log_in(stranger)


def test_no_mail_for_an_account_not_locked_from_the_asking_address(alice):
    _lock(_web("203.0.113.66"))
    _request_link(_web())  # the owner's address isn't locked: nothing to unlock, no mail to spam them with
    assert mail.outbox == []


def test_requests_are_capped_per_address_and_mails_per_email(alice):
    web = _web()
    _lock(web)
    for _ in range(10):
        assert "an unlock link is on its way" in _request_link(web)
    assert len(mail.outbox) == 3  # the rest dropped silently
    assert "Too many unlock requests from your address; try again in 60 minutes." in _request_link(web)


def test_an_address_lock_is_not_offered_a_link(db):
    web = _web()
    for n in range(30):  # 30 failures over many accounts: the address itself is locked
        web.post(LOGIN, {"username": f"user{n}@example.com", "password": "wrong-password"})
    make_user("carol@example.com")
    resp = web.post(LOGIN, {"username": "carol@example.com", "password": PASSWORD})
    assert "Too many failed attempts" in resp.content.decode()
    assert f'action="{UNLOCK}"' not in resp.content.decode()
    _request_link(web, "carol@example.com")
    assert mail.outbox == []


def test_an_unlock_request_is_post_only(client):
    assert client.get(UNLOCK).status_code == 405
