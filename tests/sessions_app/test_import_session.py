"""`manage.py import_session`: files from disk through the same checks as a browser upload."""
from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from sessions_app.models import Photo, PhotoSession
from tests.factories import jpeg_bytes, make_client, pdf_bytes, png_bomb_bytes

from .conftest import png_bytes


@pytest.fixture
def shoot(tmp_path):
    """A card dump: nested folders, a duplicate, bad files and hidden clutter."""
    root = tmp_path / "card"
    (root / "DCIM" / "100CANON").mkdir(parents=True)
    (root / ".Trashes").mkdir()
    (root / "DCIM" / "100CANON" / "IMG_0001.JPG").write_bytes(jpeg_bytes(color=(10, 20, 30)))
    (root / "DCIM" / "100CANON" / "IMG_0002.JPG").write_bytes(jpeg_bytes(color=(200, 20, 30)))
    (root / "DCIM" / "100CANON" / "IMG_0002 copy.JPG").write_bytes(jpeg_bytes(color=(200, 20, 30)))
    (root / "DCIM" / "detail.png").write_bytes(png_bytes())
    (root / "contract.jpg").write_bytes(pdf_bytes())
    (root / "bomb.png").write_bytes(png_bomb_bytes(20000, 20000))
    (root / "empty.jpg").write_bytes(b"")
    (root / ".DS_Store").write_bytes(b"junk")
    (root / ".Trashes" / "old.jpg").write_bytes(jpeg_bytes(color=(1, 1, 1)))
    return root


def run(*args) -> list[str]:
    out = io.StringIO()
    call_command("import_session", *args, stdout=out)
    return out.getvalue().splitlines()


def test_import_reports_each_file_and_prints_the_session_uuid_last(alice, shoot, enqueued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        lines = run("--owner", "ALICE@example.com", "--title", "Card dump", "--client", "Smith", str(shoot))
    session = PhotoSession.objects.get()
    assert lines[-1] == str(session.uuid)
    assert (session.owner, session.title, session.client.name) == (alice, "Card dump", "Smith")
    by_file = {line.split(None, 1)[1].split(":")[0].rsplit("/", 1)[-1]: line.split()[0] for line in lines[:-2]}
    assert by_file == {
        "IMG_0001.JPG": "imported",
        "IMG_0002 copy.JPG": "imported",
        "IMG_0002.JPG": "duplicate",
        "detail.png": "imported",
        "contract.jpg": "rejected",
        "bomb.png": "rejected",
        "empty.jpg": "rejected",
    }
    reasons = {line.rsplit("/", 1)[-1] for line in lines if line.startswith("rejected")}
    assert any("contract.jpg: not an image (looks like a PDF" in r for r in reasons)
    assert any("bomb.png: image too large (400 megapixels; limit 150)" in r for r in reasons)
    assert any("empty.jpg: empty file" in r for r in reasons)
    assert lines[-2] == "3 imported, 1 duplicate, 3 rejected (queued for the worker)"
    assert Photo.objects.filter(session=session).count() == 3
    assert len(enqueued) == 3
    assert all(p.original.name.startswith(f"photos/{session.uuid}/") for p in Photo.objects.all())


def test_import_of_single_files_with_existing_client(alice, shoot):
    client = make_client(alice, "Smith")
    one = shoot / "DCIM" / "100CANON" / "IMG_0001.JPG"
    lines = run("--owner", "alice@example.com", "--title", "One", "--client", "smith", "--shot-on", "2026-03-04", str(one))
    session = PhotoSession.objects.get(uuid=lines[-1])
    assert session.client == client and str(session.shot_on) == "2026-03-04"
    assert lines[0].startswith("imported") and lines[0].endswith("IMG_0001.JPG")


def test_inline_processes_in_process_without_a_broker(alice, shoot, enqueued, monkeypatch, django_capture_on_commit_callbacks):
    import classifier.services

    processed = []

    def fake_process(*, photo_id):
        processed.append(photo_id)
        photo = Photo.objects.get(id=photo_id)
        photo.status = Photo.Status.FAILED if photo.original_filename == "detail.png" else Photo.Status.DONE
        photo.error = "no pixels" if photo.status == Photo.Status.FAILED else ""
        photo.save()

    monkeypatch.setattr(classifier.services, "photo_process", fake_process)
    with django_capture_on_commit_callbacks(execute=True):
        lines = run("--owner", "alice@example.com", "--title", "Inline", "--inline", str(shoot / "DCIM"))
    assert len(processed) == 3
    assert enqueued == []  # nothing went to the broker
    assert any(line.startswith("failed") and line.endswith("detail.png: no pixels") for line in lines)
    assert sum(line.startswith("analysed") for line in lines) == 2
    assert lines[-2] == "3 imported, 1 duplicate, 0 rejected; 2 analysed, 1 failed"
    assert lines[-1] == str(PhotoSession.objects.get().uuid)


def test_unknown_owner_missing_path_and_no_files_fail_before_creating_anything(alice, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CommandError, match="No photographer"):
        run("--owner", "nobody@example.com", "--title", "X", str(tmp_path))
    with pytest.raises(CommandError, match="Not found"):
        run("--owner", "alice@example.com", "--title", "X", str(tmp_path / "nope"))
    with pytest.raises(CommandError, match="No files"):
        run("--owner", "alice@example.com", "--title", "X", str(tmp_path / "empty"))
    assert not PhotoSession.objects.exists()


def test_help_says_the_last_line_is_the_session_uuid():
    from classifier.management.commands.import_session import Command

    assert "LAST line printed is the new session's UUID" in Command.help


def test_inline_runs_the_real_pipeline_on_shared_photos(alice, shared_data, tmp_path):
    photos = shared_data / "photos" / "closed"
    lines = run("--owner", "alice@example.com", "--title", "Real", "--inline", str(photos))
    session = PhotoSession.objects.get(uuid=lines[-1])
    statuses = set(session.photos.values_list("status", flat=True))
    assert statuses == {Photo.Status.DONE}, lines
    assert sum(line.startswith("analysed") for line in lines) == session.photos.count() > 0
    assert all(p.predictions.exists() and p.thumbnail.name for p in session.photos.all())
