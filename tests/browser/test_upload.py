"""static/js/upload.js in a real browser: parallel uploads, retry on 5xx, rejected files listed with reasons.

Runs Debian's chromium through Playwright against pytest-django's live server (marker `browser`).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from sessions_app.models import Photo
from tests.sessions_app.conftest import enqueued  # noqa: F401  (fixture: photo ids sent to the queue)
from tests.factories import jpeg_bytes, make_session, make_user, pdf_bytes, png_bomb_bytes
from tests.integration.s3 import moto_server, s3_media, s3_storage_config  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db(transaction=True)


def _log_in(page, base_url: str, user) -> None:
    from django.test import Client

    c = Client()
    c.force_login(user)
    cookie = c.cookies["sessionid"]
    page.context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": base_url}])


def test_bulk_upload_retries_server_errors_and_lists_rejections(page, server_url, tmp_path: Path, enqueued):
    user = make_user("browser@example.com")
    session = make_session(user, title="Browser shoot")
    files = []
    for i in range(12):
        path = tmp_path / f"IMG_{i:04d}.JPG"
        path.write_bytes(jpeg_bytes(color=(i * 20, 255 - i * 20, 90)))
        files.append(path)
    (tmp_path / "IMG_0000 copy.JPG").write_bytes(files[0].read_bytes())
    (tmp_path / "contract.jpg").write_bytes(pdf_bytes())
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "bomb.png").write_bytes(png_bomb_bytes())
    files += [tmp_path / n for n in ("IMG_0000 copy.JPG", "contract.jpg", "empty.jpg", "bomb.png")]

    failures_left = {"n": 2}

    def flaky(route):
        # The first two requests meet an overloaded server: the widget must retry them.
        if failures_left["n"]:
            failures_left["n"] -= 1
            route.fulfill(status=503, body="busy")
        else:
            route.continue_()

    _log_in(page, server_url, user)
    page.route("**/upload/", flaky)
    page.goto(f"{server_url}/sessions/{session.uuid}/")
    page.set_input_files("#file-input", [str(f) for f in files])
    page.wait_for_function(
        "document.querySelector('.upload-count').dataset.state === 'finished'", timeout=60_000
    )

    summary = page.inner_text(".upload-count")
    assert summary == "12 uploaded · 1 duplicate skipped · 3 rejected"
    rejected = page.inner_text(".upload-rejected")
    assert "contract.jpg — not an image (looks like a PDF" in rejected
    assert "empty.jpg — empty file" in rejected
    assert "bomb.png — image too large (400 megapixels; limit 150)" in rejected
    assert failures_left["n"] == 0
    assert page.is_hidden(".upload-retry")  # nothing left failed after the automatic retries
    assert Photo.objects.filter(session=session).count() == 12
    assert len(enqueued) == 12


def test_dropping_files_on_the_zone_uploads_them(page, server_url, enqueued):
    user = make_user("dropper@example.com")
    session = make_session(user, title="Dropped")
    _log_in(page, server_url, user)
    page.goto(f"{server_url}/sessions/{session.uuid}/")
    jpeg = list(jpeg_bytes(color=(12, 34, 56)))
    page.evaluate(
        """(bytes) => {
            const dt = new DataTransfer();
            dt.items.add(new File([new Uint8Array(bytes)], "dropped.jpg", {type: "image/jpeg"}));
            dt.items.add(new File([new Uint8Array(0)], ".DS_Store"));  // hidden clutter is ignored
            const zone = document.getElementById("dropzone");
            zone.dispatchEvent(new DragEvent("dragenter", {dataTransfer: dt, bubbles: true}));
            zone.dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
        }""",
        jpeg,
    )
    page.wait_for_function("document.querySelector('.upload-count').dataset.state === 'finished'", timeout=30_000)
    assert page.inner_text(".upload-count") == "1 uploaded"
    assert list(Photo.objects.filter(session=session).values_list("original_filename", flat=True)) == ["dropped.jpg"]
    # The panel was told to refresh: the header count follows without a reload.
    page.wait_for_function("document.getElementById('session-photo-count').textContent === '1 photo'", timeout=10_000)
    # While the panel shows photos being analysed the summary says so; once it says finished, that line goes.
    page.wait_for_function("document.querySelector('.upload-rate').textContent === 'Analysis continues in the background.'",
                           timeout=10_000)
    Photo.objects.filter(session=session).update(status=Photo.Status.DONE)
    page.wait_for_function("document.getElementById('progress-panel').dataset.active === 'false'", timeout=10_000)
    page.wait_for_function("document.querySelector('.upload-rate').textContent === ''", timeout=5_000)
    assert page.inner_text(".upload-count") == "1 uploaded"


def test_with_s3_the_browser_sends_files_straight_to_the_bucket(strict_page, server_url, tmp_path: Path, enqueued,
                                                                 s3_media, moto_server):
    # strict_page: the real Content-Security-Policy, so the bucket must be an allowed connect-src.
    page = strict_page
    user = make_user("direct@example.com")
    session = make_session(user, title="Straight to the bucket")
    files = []
    for i in range(3):
        path = tmp_path / f"IMG_{i:04d}.JPG"
        path.write_bytes(jpeg_bytes(color=(i * 60, 90, 200 - i * 50)))
        files.append(path)
    (tmp_path / "contract.jpg").write_bytes(pdf_bytes())
    through_app = []
    page.on("request", lambda r: through_app.append(r.url) if r.url.endswith("/upload/") else None)
    expired = {"n": 1}

    def bucket(route):
        # The first POST meets an expired signature (a tab that slept): the widget asks for a new one.
        if route.request.method == "POST" and expired["n"]:
            expired["n"] -= 1
            route.fulfill(status=403, body="<Error><Code>AccessDenied</Code></Error>")
        else:
            route.continue_()

    page.route(f"{moto_server.endpoint}/**", bucket)

    _log_in(page, server_url, user)
    page.goto(f"{server_url}/sessions/{session.uuid}/")
    page.set_input_files("#file-input", [str(f) for f in files] + [str(tmp_path / "contract.jpg")])
    page.wait_for_selector(".upload-count[data-state=finished]", timeout=60_000)

    assert page.inner_text(".upload-count") == "3 uploaded · 1 rejected"
    assert "contract.jpg — not an image (looks like a PDF" in page.inner_text(".upload-rejected")
    assert expired["n"] == 0
    assert through_app == []  # no file went through the app's upload view
    photos = Photo.objects.filter(session=session)
    assert sorted(p.original_filename for p in photos) == ["IMG_0000.JPG", "IMG_0001.JPG", "IMG_0002.JPG"]
    for photo in photos:
        assert moto_server.read(photo.original.name) == (tmp_path / photo.original_filename).read_bytes()
    assert moto_server.keys(f"incoming/{session.uuid}/") == []
    assert len(enqueued) == 3
