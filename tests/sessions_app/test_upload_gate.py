"""Upload requests refused from their headers alone, before any of the body is read (sessions_app/middleware.py),
and bin/run's web server dropping the unread rest instead of reading it (manage.py serve_local)."""
from __future__ import annotations

import socket
import threading

import pytest
from django.test import Client as WebClient

from sessions_app.models import RejectedUpload

HUGE = 260 * 1024 * 1024


class BodySpy:
    """A request body that counts what the server reads of it."""

    def __init__(self) -> None:
        self.read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        size = 64 * 1024 if size is None or size < 0 else min(size, 64 * 1024)
        self.read_bytes += size
        return b"x" * size

    def readline(self, size: int = -1) -> bytes:
        return self.read(size)


def _post_huge(client: WebClient, session_uuid, *, accept: str = "application/json") -> tuple:
    body = BodySpy()
    resp = client.generic("POST", f"/sessions/{session_uuid}/upload/", b"-",
                          content_type="multipart/form-data; boundary=XyZ", headers={"accept": accept},
                          CONTENT_LENGTH=str(HUGE), **{"wsgi.input": body})
    return resp, body


def test_an_anonymous_upload_is_refused_unread(alice_session):
    resp, body = _post_huge(WebClient(), alice_session.uuid)
    assert resp.status_code == 401 and body.read_bytes == 0
    resp, body = _post_huge(WebClient(), alice_session.uuid, accept="text/html")
    assert resp.status_code == 302 and "/accounts/login/" in resp["Location"] and body.read_bytes == 0


def test_an_upload_to_someone_elses_session_is_refused_unread(alice_session, bob_web):
    resp, body = _post_huge(bob_web, alice_session.uuid)
    assert resp.status_code == 404 and body.read_bytes == 0
    assert not RejectedUpload.objects.exists()  # nothing written on alice's session by bob


def test_an_oversized_upload_is_refused_unread_and_listed(web, alice_session):
    resp, body = _post_huge(web, alice_session.uuid)
    assert resp.status_code == 413 and body.read_bytes == 0
    assert "file too large (260 MB; limit 200 MB)" == resp.json()["error"]
    refused = RejectedUpload.objects.get(session=alice_session)
    assert "too large" in refused.reason and refused.bytes == HUGE


def test_an_oversized_plain_form_is_refused_unread_with_a_reason_on_the_page(web, alice_session, settings):
    settings.EYESPY_MAX_FORM_UPLOAD_BYTES = 100 * 1024 * 1024
    resp, body = _post_huge(web, alice_session.uuid, accept="text/html")
    assert resp.status_code == 302 and body.read_bytes == 0
    page = web.get(f"/sessions/{alice_session.uuid}/").content.decode()
    assert "Upload too large (260 MB; limit 100 MB)" in page


# --- bin/run's web server: at most 1 MB of an unread body ------------------------------------------------


@pytest.fixture
def bounded_server(monkeypatch):
    """serve_local's request handling around an app that answers 403 without reading the body."""
    from django.core.servers import basehttp

    from sessions_app.management.commands.serve_local import BoundedDrainServerHandler

    monkeypatch.setattr(basehttp, "ServerHandler", BoundedDrainServerHandler)

    def refuse(environ, start_response):
        start_response("403 Forbidden", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"no"]

    server = basehttp.WSGIServer(("127.0.0.1", 0), basehttp.WSGIRequestHandler)
    server.set_app(refuse)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address
    server.shutdown()
    server.server_close()


def test_the_web_server_drops_a_refused_body_instead_of_reading_it(bounded_server):
    with socket.create_connection(bounded_server, timeout=15) as sock:
        sock.sendall(f"POST /sessions/x/upload/ HTTP/1.1\r\nHost: localhost\r\nContent-Length: {HUGE}\r\n"
                     "Content-Type: application/octet-stream\r\n\r\n".encode() + b"x" * (2 * 1024 * 1024))
        received = b""
        while chunk := sock.recv(65536):  # Django's own server would wait here for the other 258 MB
            received += chunk
    assert received.startswith(b"HTTP/1.1 403")
