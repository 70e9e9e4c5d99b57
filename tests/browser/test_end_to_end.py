"""Issue 4's acceptance test: a photographer's whole first session, through the real product.

Log in through the login form, add a client and a session through the UI, upload 20 real CEW face crops
(10 closed-eye, 10 open-eye, read in place from ../shared/data/faces) together with an empty file, a renamed
PDF and a truncated JPEG in one file-picker selection. A real `celery worker` subprocess on the embedded
Redis analyses them (no fake enqueue, never eager) in the same test database and media folder as the live
server. The test watches the progress panel reach "21 of 21 done", checks the rejected files and the
unreadable one are listed with their reasons, opens the review page, checks the BLINKING / NOT BLINKING
groups and their reason sentences, then presses K on a blinking photo and finds the correction row.
"""
from __future__ import annotations

import logging
import re
import time
from pathlib import Path

import pytest

from classifier.models import Correction, ModelVersion, Prediction
from sessions_app.models import Client, Photo, PhotoSession
from tests.factories import PASSWORD, make_user, pdf_bytes, truncated_jpeg_bytes

# The worker fixtures (and, on import, the SQLite test database moved to a file the worker can open).
from tests.integration.conftest import embedded_worker, shared_media, shared_media_dir  # noqa: F401

logger = logging.getLogger(__name__)

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

FACES_PER_CLASS = 10
MIN_CORRECT_PER_CLASS = 8  # the model is ~98 % on CEW faces; 8 of 10 leaves room for one unlucky pick
PROCESS_TIMEOUT_MS = 90_000  # generous: the machine is shared; the run itself takes a few seconds

# "main face: left eye closed (0.97), right eye closed (0.93)" / "1 face, all eyes open"
BLINK_REASON = re.compile(r"main face: (left|right) eye (partly )?closed \(\d\.\d\d\)")
OPEN_REASON = re.compile(r"^1 face, (all eyes open|all visible eyes open|no eye closed)")


def _faces(folder: Path, *, skip: set[str] = frozenset()) -> list[Path]:
    """FACES_PER_CLASS files spread evenly over the sorted folder: a fixed, unhandpicked sample."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".jpg" and p.name not in skip)
    step = len(files) // FACES_PER_CLASS
    return files[::step][:FACES_PER_CLASS]


def _open_suspects(faces_dir: Path) -> set[str]:
    """Open faces that an independent re-annotation called blinks (SOURCES.md): not a fair 'open' sample."""
    lines = (faces_dir / "cew_open_suspects.csv").read_text().splitlines()[1:]
    return {line.split(",", 1)[0].removeprefix("open/") for line in lines if line}


def _cards(page, section: str) -> dict[str, str]:
    """{file name: reason sentence} of the cards in a review section."""
    rows = page.eval_on_selector_all(
        f"#{section} .photo-card",
        "els => els.map(e => [e.querySelector('.fname').textContent, e.querySelector('.reason').textContent])",
    )
    return {name: reason.strip() for name, reason in rows}


def test_photographer_uploads_a_session_and_reviews_the_blinks(
    page, server_url, shared_data, embedded_worker, shared_media, tmp_path  # noqa: F811
):
    started = time.monotonic()
    faces_dir = shared_data / "faces"
    closed = _faces(faces_dir / "closed")
    opened = _faces(faces_dir / "open", skip=_open_suspects(faces_dir))
    assert len(closed) == len(opened) == FACES_PER_CLASS
    # The bad files are made here (never copies of the data set).
    bad = {"empty.jpg": b"", "contract.jpg": pdf_bytes(), "IMG_cut.jpg": truncated_jpeg_bytes()}
    for name, data in bad.items():
        (tmp_path / name).write_bytes(data)
    selection = [str(p) for p in [*closed, *opened]] + [str(tmp_path / n) for n in bad]
    total = len(closed) + len(opened) + 1  # the truncated JPEG passes the upload checks and fails in the worker

    user = make_user("ana@studio.example", name="Ana")

    # Log in through the login form.
    page.goto(f"{server_url}/accounts/login/")
    page.fill('input[name="username"]', user.email)
    page.fill('input[name="password"]', PASSWORD)
    page.click("button:has-text('Log in')")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)

    # A client, then a session for them, through the UI.
    page.click("nav >> text=Clients")
    page.click("text=New client")
    page.fill('input[name="name"]', "The Okafor family")
    page.fill('input[name="email"]', "okafor@example.com")
    page.click("button:has-text('Add client')")
    page.wait_for_selector("h1:has-text('The Okafor family')")
    page.click("text=New session for The Okafor family")
    page.fill('input[name="title"]', "Okafor spring portraits")
    page.click("button:has-text('Create session')")
    page.wait_for_selector("h1:has-text('Okafor spring portraits')")
    session = PhotoSession.objects.get(owner=user, title="Okafor spring portraits")
    assert session.client == Client.objects.get(owner=user, name="The Okafor family")
    assert page.url.rstrip("/").endswith(f"/sessions/{session.uuid}")

    # One file-picker selection: 20 faces and three bad files.
    page.set_input_files("#file-input", selection)
    page.wait_for_function("document.querySelector('.upload-count').dataset.state === 'finished'", timeout=60_000)
    assert page.inner_text(".upload-count") == f"{total} uploaded · 2 rejected"
    rejected = page.inner_text(".upload-rejected")
    assert "empty.jpg — empty file" in rejected
    assert "contract.jpg — not an image (looks like a PDF" in rejected

    # The real worker analyses them; the progress panel follows without a reload.
    page.wait_for_function(
        "(text) => { const el = document.querySelector('#progress-panel .progress-count');"
        " return el && el.textContent === text; }",
        arg=f"{total} of {total} done",
        timeout=PROCESS_TIMEOUT_MS,
    )
    processed_at = time.monotonic()
    assert page.get_attribute("#progress-panel", "data-active") == "false"
    assert page.inner_text("#progress-panel .badge-failed") == "1 failed"
    failures = page.inner_text("#progress-panel .failure-list")
    assert re.search(r"IMG_cut\.jpg — .*truncated", failures), failures
    photos = Photo.objects.filter(session=session)
    assert photos.count() == total
    assert photos.filter(status=Photo.Status.DONE).count() == total - 1
    assert Prediction.objects.filter(photo__session=session).count() == total - 1
    assert embedded_worker.alive()

    # The review page, reached from the panel's own button.
    page.click("#progress-panel a.btn-primary:has-text('Review')")
    page.wait_for_selector("body[data-review-ready='1']")
    blinking = _cards(page, "blinking")
    not_blinking = _cards(page, "not-blinking")
    no_face = _cards(page, "no-face")
    to_check = {name: why.strip() for name, why in page.eval_on_selector_all(  # uncertain: a person decides
        "#check .photo-card",
        "els => els.map(e => [e.querySelector('.fname').textContent, e.querySelector('.check-why').textContent])")}
    closed_names = {p.name for p in closed}
    open_names = {p.name for p in opened}
    caught = closed_names & blinking.keys()
    kept = open_names & not_blinking.keys()
    logger.warning(
        "end to end: %d/%d closed faces in BLINKING, %d/%d open faces in NOT BLINKING, sent to check: %s; misses: %s",
        len(caught), len(closed_names), len(kept), len(open_names), to_check,
        sorted((closed_names - caught - to_check.keys()) | (open_names - kept - to_check.keys())),
    )
    assert len(caught) >= MIN_CORRECT_PER_CLASS - len(to_check.keys() & closed_names), blinking
    assert len(kept) >= MIN_CORRECT_PER_CLASS - len(to_check.keys() & open_names), not_blinking
    assert len(to_check) <= 5, to_check  # a few photos near the cut-off (4 of these 21 today), not a second review
    assert page.text_content("#count-blinking") == str(len(blinking))
    assert page.text_content("#count-not_blinking") == str(len(not_blinking))
    for name, reason in blinking.items():
        assert BLINK_REASON.search(reason), (name, reason)
    for name, reason in not_blinking.items():
        assert OPEN_REASON.search(reason), (name, reason)
    assert "IMG_cut.jpg" in no_face and "truncated" in no_face["IMG_cut.jpg"]
    shown = set(blinking) | set(not_blinking) | set(no_face) | set(to_check)
    assert shown == closed_names | open_names | {"IMG_cut.jpg"}

    # K on the first blinking photo: it moves to NOT BLINKING and a correction row records it.
    page.keyboard.press("1")  # jump to the BLINKING group
    target = page.eval_on_selector(".photo-card.is-current .fname", "el => el.textContent")
    assert target in blinking
    # Its thumbnail, made by the worker in the shared media folder, is served to the page.
    page.wait_for_function("document.querySelector('.photo-card.is-current .thumb img').naturalWidth > 0")
    page.keyboard.press("k")
    page.wait_for_function("document.body.dataset.reviewBusy === '0'")
    page.wait_for_function(
        "(n) => document.getElementById('count-blinking').textContent === String(n)", arg=len(blinking) - 1
    )
    assert page.text_content("#count-not_blinking") == str(len(not_blinking) + 1)
    photo = photos.get(original_filename=target)
    correction = Correction.objects.get(photo__session=session)
    assert correction.photo_id == photo.id
    assert correction.face_index is None
    assert (correction.previous_label, correction.label) == ("BLINKING", "NOT_BLINKING")
    assert correction.created_by_id == user.id
    assert correction.undoes_id is None
    assert correction.model_version == ModelVersion.objects.get(is_live=True)

    # No image requests left in flight while the fixtures (media settings, database) are torn down.
    page.wait_for_load_state("networkidle")
    page.goto("about:blank")
    logger.warning(
        "end to end: %.1f s in all, %.1f s from login to %d of %d done",
        time.monotonic() - started, processed_at - started, total, total,
    )
