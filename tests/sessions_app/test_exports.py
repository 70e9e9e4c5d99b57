"""Exports: keepers ZIP, BLINKING/NOT_BLINKING ZIP, XMP sidecars (read back with exiftool), CSV, Lightroom
filters, the background task with progress, the CLI — and 404s for another photographer."""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from classifier.selectors import checks
from django.core.management import CommandError, call_command

from review import exports, selectors
from review.exports import ExportError, ExportOptions, export_create, export_run, export_write, filename_filter
from review.exports.xmp import sidecar_bytes
from review.exports.zips import write_keepers_zip
from review.services.corrections import correction_create
from sessions_app.models import Export, Photo
from tests.conftest import require
from tests.factories import make_session
from tests.review_builders import BLINK, BORDERLINE, NO_FACES, OPEN, make_judged_photo, make_unique_photo

EXIFTOOL = shutil.which("exiftool")


@pytest.fixture
def shoot(alice, alice_session):
    """Two keepers, two blinks (one only after a correction), a detail shot, an unreadable file."""
    p = {
        "keep": make_judged_photo(alice_session, faces=OPEN, name="IMG_0001.JPG"),
        "blink": make_judged_photo(alice_session, faces=BLINK, name="IMG_0002.JPG"),
        "kept": make_judged_photo(alice_session, faces=BLINK, name="IMG_0003.JPG"),  # corrected to keep
        "missed": make_judged_photo(alice_session, faces=OPEN, name="IMG_0004.JPG"),  # corrected to blinking
        "detail": make_judged_photo(alice_session, faces=NO_FACES, name="IMG_0005.JPG"),
        "broken": make_unique_photo(alice_session, name="IMG_0006.JPG", status=Photo.Status.FAILED, error="file is truncated"),
    }
    correction_create(photo=p["kept"], label="NOT_BLINKING", by=alice)
    correction_create(photo=p["missed"], label="BLINKING", by=alice)
    return p


def _zip_names(data: bytes) -> list[str]:
    return sorted(zipfile.ZipFile(io.BytesIO(data)).namelist())


# --- XMP -----------------------------------------------------------------------------------------------


def _exiftool(paths: list[Path]) -> dict[str, dict]:
    require(EXIFTOOL is not None, "exiftool not installed (Debian: libimage-exiftool-perl)")
    out = subprocess.run([EXIFTOOL, "-j", "-G1", "-validate", "-XMP:all", *map(str, paths)], capture_output=True, check=True, text=True)
    return {Path(item["SourceFile"]).name: item for item in json.loads(out.stdout)}


@pytest.mark.parametrize("naming, suffix", [("basename", ".xmp"), ("full", ".JPG.xmp")])
def test_xmp_sidecars_read_back_by_exiftool_match_the_effective_labels(alice_session, shoot, tmp_path, naming, suffix):
    out, written = export_write(session=alice_session, fmt="xmp", out=tmp_path / "xmp", options={"xmp_naming": naming})

    assert written == 5  # every judged photo; the unreadable one has no verdict to write
    read = _exiftool(sorted(out.iterdir()))
    expected = {card.photo.original_filename: card for card in selectors.session_cards(session=alice_session)
                if not card.unreadable}
    assert sorted(read) == sorted(Path(name).stem + suffix for name in expected)
    for name, card in expected.items():
        tags = read[Path(name).stem + suffix]
        assert tags["ExifTool:Validate"] == "OK", name
        if card.verdict == "BLINKING":
            assert tags["XMP-xmp:Rating"] == -1 and tags["XMP-xmp:Label"] == "Red", name
        else:
            assert tags["XMP-xmp:Rating"] == 0 and "XMP-xmp:Label" not in tags, name
    assert {n for n, c in expected.items() if c.verdict == "BLINKING"} == {"IMG_0002.JPG", "IMG_0004.JPG"}


def test_xmp_ratings_and_labels_are_configurable(alice_session, shoot, tmp_path):
    options = {"rating_keeper": 3, "label_keeper": "Green", "rating_blinking": 1, "label_blinking": "purple"}
    out, _ = export_write(session=alice_session, fmt="xmp", out=tmp_path, options=options)
    read = _exiftool([out / "IMG_0001.xmp", out / "IMG_0002.xmp"])
    assert (read["IMG_0001.xmp"]["XMP-xmp:Rating"], read["IMG_0001.xmp"]["XMP-xmp:Label"]) == (3, "Green")
    assert (read["IMG_0002.xmp"]["XMP-xmp:Rating"], read["IMG_0002.xmp"]["XMP-xmp:Label"]) == (1, "Purple")


def test_sidecar_is_a_well_formed_xmp_packet():
    import xml.dom.minidom

    data = sidecar_bytes(rating=-1, label='Red "hot"')
    text = data.decode("utf-8")
    assert text.startswith('<?xpacket begin="\ufeff"') and text.rstrip().endswith('<?xpacket end="w"?>')
    doc = xml.dom.minidom.parseString(data)
    desc = doc.getElementsByTagName("rdf:Description")[0]
    assert desc.getAttribute("xmp:Rating") == "-1" and desc.getAttribute("xmp:Label") == 'Red "hot"'


@pytest.mark.parametrize("options, reason", [
    ({"rating_keeper": 7}, "rating keeper must be a whole number from -1 to 5"),
    ({"rating_blinking": "lots"}, "rating blinking must be a whole number"),
    ({"label_blinking": "Red\nGreen"}, "label blinking must be one of Lightroom's colour labels"),
    ({"label_keeper": "Orange"}, "colour labels (Red, Yellow, Green, Blue, Purple)"),
    ({"xmp_naming": "weird"}, "sidecar naming must be one of"),
])
def test_bad_export_options_are_refused(options, reason):
    with pytest.raises(ExportError) as err:
        ExportOptions.from_dict(options)
    assert reason in err.value.reason


# --- ZIPs ----------------------------------------------------------------------------------------------


def test_keepers_zip_holds_exactly_the_keepers_originals(alice_session, shoot, tmp_path):
    path, written = export_write(session=alice_session, fmt="keepers-zip", out=tmp_path / "k.zip")

    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["IMG_0001.JPG", "IMG_0003.JPG", "IMG_0005.JPG"] and written == 3
        assert all(info.compress_type == zipfile.ZIP_STORED for info in zf.infolist())
        assert zf.read("IMG_0003.JPG") == shoot["kept"].original.open("rb").read()
    assert not (tmp_path / "k.zip.part").exists()


def test_folders_zip_sorts_originals_into_blinking_and_not_blinking(alice_session, shoot, tmp_path):
    path, written = export_write(session=alice_session, fmt="folders-zip", out=tmp_path)
    assert path.name.endswith("-sorted.zip") and written == 5
    assert _zip_names(path.read_bytes()) == [
        "BLINKING/IMG_0002.JPG", "BLINKING/IMG_0004.JPG",
        "NOT_BLINKING/IMG_0001.JPG", "NOT_BLINKING/IMG_0003.JPG", "NOT_BLINKING/IMG_0005.JPG",
    ]


def test_same_file_names_get_distinct_entries(alice_session, tmp_path):
    make_judged_photo(alice_session, faces=OPEN, name="IMG_0001.JPG")
    make_judged_photo(alice_session, faces=OPEN, name="img_0001.jpg")  # a second card, same counter
    make_judged_photo(alice_session, faces=OPEN, name="../../etc/passwd")
    path, _ = export_write(session=alice_session, fmt="keepers-zip", out=tmp_path / "k.zip")
    assert _zip_names(path.read_bytes()) == ["IMG_0001.JPG", "img_0001 (2).jpg", "passwd"]


def test_zip_streams_originals_in_chunks_not_whole_files(alice_session, tmp_path):
    size = 12 * 1024 * 1024
    big = os.urandom(size)
    for i in range(2):
        make_judged_photo(alice_session, faces=OPEN, name=f"BIG_{i}.JPG", data=big[i:] + bytes([i]))
    cards = selectors.session_cards(session=alice_session)

    tracemalloc.start()
    with (tmp_path / "big.zip").open("wb") as fh:
        write_keepers_zip(cards, fh)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert (tmp_path / "big.zip").stat().st_size > 2 * size
    # Half of one original: reading a whole file would need 12 MB; the process's other threads (a test
    # run's leftovers) can add a megabyte or so, so the bound is not tighter.
    assert peak < size / 2, f"peak {peak / 1e6:.1f} MB for 24 MB of originals"


# --- CSV and Lightroom --------------------------------------------------------------------------------------


def test_csv_report_rows(alice, alice_session, shoot, tmp_path):
    make_judged_photo(alice_session, faces=OPEN, name="=HYPERLINK(1).jpg")
    path, written = export_write(session=alice_session, fmt="csv", out=tmp_path / "r.csv")

    rows = list(csv.DictReader(path.read_text(encoding="utf-8-sig").splitlines()))
    assert written == 7 and len(rows) == 7
    by_name = {r["file_name"]: r for r in rows}
    kept = by_name["IMG_0003.JPG"]
    assert (kept["verdict"], kept["machine_verdict"], kept["corrected_by"]) == ("NOT_BLINKING", "BLINKING", alice.email)
    assert (kept["left_eye"], kept["left_eye_openness"], kept["right_eye"]) == ("closed", "0.05", "closed")
    # Corrected: the verdict is the photographer's, so no model confidence (corrected_by says who decided).
    assert kept["confidence"] == ""
    # The reason says the photographer's decision first; the model's sentence only as what it read.
    assert kept["reason"].startswith("your call: not blinking (the model read main face:")
    assert "face 1: right closed 90%, left closed 95%" == kept["all_eyes"]  # P(closed), as in the reason
    untouched = by_name["IMG_0001.JPG"]
    assert untouched["corrected_by"] == "" and untouched["confidence"] != ""
    cards = selectors.session_cards(session=alice_session)
    machine = next(c for c in cards if c.photo.original_filename == "IMG_0001.JPG")
    assert float(untouched["confidence"]) == pytest.approx(machine.confidence, abs=0.005)
    assert by_name["IMG_0006.JPG"]["verdict"] == "UNREADABLE" and by_name["IMG_0006.JPG"]["reason"] == "file is truncated"
    assert by_name["IMG_0005.JPG"]["verdict"] == "NO_FACE" and by_name["IMG_0005.JPG"]["faces"] == "0"
    assert "'=HYPERLINK(1).jpg" in by_name  # a spreadsheet won't run it
    assert by_name["IMG_0001.JPG"]["reason"] == "1 face, all eyes open"  # undecided: the model's own sentence


def test_csv_reason_of_a_whole_photo_decision_is_the_photographers(alice, alice_session, shoot, tmp_path):
    correction_create(photo=shoot["blink"], flag="", value="keep", by=alice)
    path, _ = export_write(session=alice_session, fmt="csv", out=tmp_path / "r.csv")
    row = next(r for r in csv.DictReader(path.read_text(encoding="utf-8-sig").splitlines())
               if r["file_name"] == "IMG_0002.JPG")
    assert row["reason"].startswith("your call: keep anyway (the model read main face:")
    assert row["reasons"] == "your call: keep anyway" and row["outcome"] == "keeper"


def test_lightroom_filters(alice_session, shoot):
    cards = selectors.session_cards(session=alice_session)
    assert filename_filter(cards, which="keepers") == "IMG_0001, IMG_0003, IMG_0005"
    assert filename_filter(cards, which="rejects") == "IMG_0002, IMG_0004"
    with pytest.raises(ValueError):
        filename_filter(cards, which="maybe")


# --- Export rows, the task and progress ------------------------------------------------------------------------


def test_small_exports_are_built_right_away(alice, alice_session, shoot):
    export = export_create(session=alice_session, fmt="csv", by=alice)
    assert export.status == Export.Status.DONE and export.progress == export.total == 6
    assert export.file.name.endswith("-report.csv")
    assert export.file.open("rb").read().decode("utf-8-sig").startswith("file_name,verdict,confidence")


def test_an_inline_export_reads_the_sessions_cards_once(alice, alice_session, shoot, monkeypatch):
    from review import selectors as review_selectors

    calls: list[int] = []
    real = review_selectors.session_cards

    def counting(**kwargs):
        calls.append(1)
        return real(**kwargs)

    monkeypatch.setattr(review_selectors, "session_cards", counting)
    export = export_create(session=alice_session, fmt="csv", by=alice)
    assert export.status == Export.Status.DONE and export.total == 6
    assert len(calls) == 1


def test_large_exports_go_to_the_exports_queue_and_report_progress(alice, alice_session, shoot, settings, monkeypatch,
                                                                   django_capture_on_commit_callbacks):
    from review import tasks

    settings.EYESPY_EXPORT_INLINE_MAX_PHOTOS = 1
    sent: list[int] = []
    monkeypatch.setattr(tasks.build_export_task, "delay", lambda export_id: sent.append(export_id))
    seen: list[int] = []
    real_progress = exports.services._Progress.__call__

    def spy(self, done):
        seen.append(done)
        self.last = 0.0  # report every photo in the test, not every half second
        real_progress(self, done)

    monkeypatch.setattr(exports.services._Progress, "__call__", spy)

    with django_capture_on_commit_callbacks(execute=True):
        export = export_create(session=alice_session, fmt="folders-zip", by=alice)
    assert export.status == Export.Status.QUEUED and sent == [export.id] and export.total == 5

    tasks.build_export_task.run(export.id)  # what the worker runs
    export.refresh_from_db()
    assert export.status == Export.Status.DONE and export.progress == 5 and seen == [1, 2, 3, 4, 5]
    assert len(_zip_names(export.file.open("rb").read())) == 5

    export_run(export_id=export.id)  # delivered twice: nothing happens
    export.refresh_from_db()
    assert export.status == Export.Status.DONE


def test_export_task_routes_to_the_exports_queue():
    from eyespy_site.celery import app
    from review.tasks import build_export_task

    route = app.amqp.router.route({}, build_export_task.name)
    assert route["queue"].name == "exports"


def test_a_missing_original_fails_the_export_with_a_reason(alice, alice_session, shoot):
    shoot["keep"].original.storage.delete(shoot["keep"].original.name)
    export = Export.objects.create(session=alice_session, format="keepers-zip", requested_by=alice)
    export_run(export_id=export.id)
    export.refresh_from_db()
    assert export.status == Export.Status.FAILED and not export.file
    assert export.error == "the original of IMG_0001.JPG is missing from storage"


def test_task_final_failure_is_recorded(alice, alice_session):
    from review.tasks import build_export_task

    export = Export.objects.create(session=alice_session, format="csv", requested_by=alice, status=Export.Status.RUNNING)
    build_export_task.on_failure(RuntimeError("boom"), "task-id", (export.id,), {}, None)
    export.refresh_from_db()
    assert export.status == Export.Status.FAILED and "RuntimeError" in export.error


def test_nothing_to_export_is_refused(alice, alice_session):
    make_judged_photo(alice_session, faces=BLINK)
    with pytest.raises(ExportError, match="no keepers to export"):
        export_create(session=alice_session, fmt="keepers-zip", by=alice)


# --- Views ----------------------------------------------------------------------------------------------------


def test_export_page_starts_an_export_and_offers_the_download(web, alice_session, shoot):
    page = web.get(f"/sessions/{alice_session.uuid}/exports/").content.decode()
    assert "IMG_0001, IMG_0003, IMG_0005" in page and "IMG_0002, IMG_0004" in page and 'data-copy="#lr-keepers"' in page

    response = web.post(f"/sessions/{alice_session.uuid}/exports/", {
        "format": "xmp", "rating_keeper": "0", "rating_blinking": "-1", "label_keeper": "", "label_blinking": "Red",
        "xmp_naming": "full"})
    export = Export.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/sessions/{alice_session.uuid}/exports/{export.uuid}/"
    assert export.options["xmp_naming"] == "full"

    detail = web.get(response["Location"]).content.decode()
    assert "Download" in detail and "hx-trigger" not in detail  # done: no polling
    download = web.get(f"/sessions/{alice_session.uuid}/exports/{export.uuid}/download/")
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    assert "attachment" in download["Content-Disposition"]
    assert "IMG_0002.JPG.xmp" in _zip_names(b"".join(download.streaming_content))


def test_running_export_polls_and_is_not_downloadable_yet(web, alice, alice_session, shoot):
    export = Export.objects.create(session=alice_session, format="keepers-zip", requested_by=alice,
                                   status=Export.Status.RUNNING, progress=2, total=3)
    partial = web.get(f"/sessions/{alice_session.uuid}/exports/{export.uuid}/", HTTP_HX_REQUEST="true").content.decode()
    assert "Building: 2 of 3 photos" in partial and 'hx-trigger="every 1s' in partial and "<html" not in partial
    assert web.get(f"/sessions/{alice_session.uuid}/exports/{export.uuid}/download/").status_code == 404


def test_export_form_errors_are_shown(web, alice_session):
    make_judged_photo(alice_session, faces=BLINK)
    response = web.post(f"/sessions/{alice_session.uuid}/exports/", {
        "format": "keepers-zip", "rating_keeper": "0", "rating_blinking": "-1", "xmp_naming": "basename"})
    assert response.status_code == 200 and "There are no keepers to export yet" in response.content.decode()
    assert not Export.objects.exists()


def test_export_page_offers_lightroom_colour_labels_and_refuses_others(web, alice_session, shoot):
    page = web.get(f"/sessions/{alice_session.uuid}/exports/").content.decode()
    assert '<select name="label_blinking"' in page and '<input type="text" name="label_blinking"' not in page
    for name in ("Red", "Yellow", "Green", "Blue", "Purple"):
        assert f'<option value="{name}"' in page
    assert '<option value="Red" selected>' in page  # blinking photos default to Red
    assert '<fieldset class="xmp-options" data-formats="embedded-zip xmp">' in page  # exports.js hides it for other formats
    assert "empty where you corrected the photo" in page  # the CSV's confidence column explained

    response = web.post(f"/sessions/{alice_session.uuid}/exports/", {
        "format": "xmp", "rating_keeper": "0", "rating_blinking": "-1", "label_keeper": "Orange",
        "label_blinking": "Red", "xmp_naming": "basename"})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert not Export.objects.exists()


def test_colour_labels_are_checked_by_the_service_too(alice, alice_session, shoot):
    with pytest.raises(ExportError) as err:
        export_create(session=alice_session, fmt="xmp", by=alice, options={"label_blinking": "Reddish"})
    assert "Lightroom's colour labels" in err.value.reason
    assert ExportOptions.from_dict({"label_keeper": "GREEN"}).to_dict()["label_keeper"] == "Green"
    assert ExportOptions.from_dict({"label_blinking": "none"}).label_blinking == ""


def test_another_photographer_gets_404_for_exports(bob, bob_web, alice, alice_session, shoot):
    export = export_create(session=alice_session, fmt="csv", by=alice)
    bobs_session = make_session(bob)
    for url in (
        f"/sessions/{alice_session.uuid}/exports/",
        f"/sessions/{alice_session.uuid}/exports/{export.uuid}/",
        f"/sessions/{alice_session.uuid}/exports/{export.uuid}/download/",
        # His own session's URL with her export's id doesn't work either.
        f"/sessions/{bobs_session.uuid}/exports/{export.uuid}/",
        f"/sessions/{bobs_session.uuid}/exports/{export.uuid}/download/",
    ):
        assert bob_web.get(url).status_code == 404, url
    assert bob_web.post(f"/sessions/{alice_session.uuid}/exports/", {"format": "csv"}).status_code == 404
    assert Export.objects.count() == 1


# --- CLI ------------------------------------------------------------------------------------------------------


def test_cli_exports_by_uuid_and_by_id(alice_session, shoot, tmp_path):
    out = io.StringIO()
    call_command("export_session", str(alice_session.uuid), "--format", "csv", "--out", str(tmp_path / "r.csv"), stdout=out)
    assert "6 photos" in out.getvalue() and (tmp_path / "r.csv").exists()

    call_command("export_session", str(alice_session.pk), "--format", "xmp", "--out", str(tmp_path / "side"),
                 "--xmp-naming", "full", "--label-blinking", "Purple", stdout=io.StringIO())
    assert sorted(p.name for p in (tmp_path / "side").iterdir())[:2] == ["IMG_0001.JPG.xmp", "IMG_0002.JPG.xmp"]
    assert 'xmp:Label="Purple"' in (tmp_path / "side" / "IMG_0002.JPG.xmp").read_text()

    call_command("export_session", str(alice_session.uuid), "--format", "keepers-zip", "--out", str(tmp_path / "k.zip"),
                 stdout=io.StringIO())
    assert _zip_names((tmp_path / "k.zip").read_bytes()) == ["IMG_0001.JPG", "IMG_0003.JPG", "IMG_0005.JPG"]


@pytest.mark.parametrize("args, message", [
    (["00000000-0000-0000-0000-000000000000", "--format", "csv"], "No session"),
    (["nope", "--format", "csv"], "No session"),
    (["{pk}", "--format", "xmp", "--rating-keeper", "9"], "rating keeper must be a whole number from -1 to 5"),
])
def test_cli_errors_are_readable(alice_session, tmp_path, args, message):
    args = [a.replace("{pk}", str(alice_session.pk)) for a in args]
    with pytest.raises(CommandError, match=message):
        call_command("export_session", *args, "--out", str(tmp_path / "x"), stdout=io.StringIO())


def test_cli_xmp_into_a_file_is_refused(alice_session, shoot, tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("x")
    with pytest.raises(CommandError, match="is a file; for xmp give a folder"):
        call_command("export_session", str(alice_session.uuid), "--format", "xmp", "--out", str(target), stdout=io.StringIO())


def test_a_transient_storage_error_retries_the_export_instead_of_failing_it(alice, alice_session, shoot,
                                                                           monkeypatch):
    """Shared task policy: a dropped S3 connection is worth another try; only the final one records a failure."""
    from review import tasks

    calls = []
    real = exports.services.write_cards

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionResetError(104, "Connection reset by peer")
        return real(*args, **kwargs)

    monkeypatch.setattr(exports.services, "write_cards", flaky)
    export = Export.objects.create(session=alice_session, format="csv", requested_by=alice)
    result = tasks.build_export_task.apply(args=[export.id])
    assert result.successful() and len(calls) == 2
    export.refresh_from_db()
    assert export.status == Export.Status.DONE and export.file


def test_an_export_that_keeps_losing_storage_fails_with_the_reason(alice, alice_session, shoot, monkeypatch):
    from eyespy_site.task_base import MAX_RETRIES
    from review import tasks

    calls = []

    def down(*args, **kwargs):
        calls.append(1)
        raise TimeoutError("storage timed out")

    monkeypatch.setattr(exports.services, "write_cards", down)
    export = Export.objects.create(session=alice_session, format="csv", requested_by=alice)
    assert tasks.build_export_task.apply(args=[export.id]).failed()
    assert len(calls) == 1 + MAX_RETRIES
    export.refresh_from_db()
    assert export.status == Export.Status.FAILED and "TimeoutError" in export.error


def test_zip_entry_names_are_portable_and_stay_unique(alice_session, tmp_path):
    for name in ['a<b>c.JPG', 'a_b_c.JPG', 'what?*.jpg', 'say "cheese" | now.jpg', "C:evil.jpg", "tab\there.jpg",
                 "CON.jpg", "trailing. .jpg.", "dir\\\\inner.jpg", "Æøå 写真.jpg"]:
        make_judged_photo(alice_session, faces=OPEN, name=name)
    path, _ = export_write(session=alice_session, fmt="keepers-zip", out=tmp_path / "k.zip")
    names = _zip_names(path.read_bytes())
    assert sorted(names) == sorted([
        "a_b_c.JPG", "a_b_c (2).JPG",  # two photos whose names meet after cleaning stay two files
        "what__.jpg", "say _cheese_ _ now.jpg", "C_evil.jpg", "tabhere.jpg", "_CON.jpg", "trailing. .jpg",
        "inner.jpg", "Æøå 写真.jpg",
    ])
    assert not [n for n in names if set(n) & set('<>:"|?*\\\\') or any(ord(ch) < 32 for ch in n)]


# --- The "check these" group ----------------------------------------------------------------------------------


@pytest.fixture
def with_checks(alice, alice_session, shoot):
    """The shoot plus two photos the model is unsure of (left eye 60% open), one of them decided since."""
    shoot["check"] = make_judged_photo(alice_session, faces=BORDERLINE, name="IMG_0007.JPG")
    shoot["checked"] = make_judged_photo(alice_session, faces=BORDERLINE, name="IMG_0008.JPG")
    correction_create(photo=shoot["checked"], label="BLINKING", by=alice)
    return shoot


def test_folders_zip_puts_photos_still_to_check_in_check(alice_session, with_checks, tmp_path):
    path, written = export_write(session=alice_session, fmt="folders-zip", out=tmp_path)
    assert written == 7 and _zip_names(path.read_bytes()) == [
        "BLINKING/IMG_0002.JPG", "BLINKING/IMG_0004.JPG", "BLINKING/IMG_0008.JPG",  # decided: out of CHECK
        "CHECK/IMG_0007.JPG",
        "NOT_BLINKING/IMG_0001.JPG", "NOT_BLINKING/IMG_0003.JPG", "NOT_BLINKING/IMG_0005.JPG",
    ]


def test_csv_appends_check_columns_after_the_old_ones(alice_session, with_checks, tmp_path):
    path, _ = export_write(session=alice_session, fmt="csv", out=tmp_path / "r.csv")
    header, *rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))
    assert header[:14] == ["file_name", "verdict", "confidence", "machine_verdict", "corrected_by", "corrected_at",
                           "faces", "left_eye", "left_eye_openness", "right_eye", "right_eye_openness", "all_eyes",
                           "reason", "taken_at"]  # other tools read these by position
    assert header[14:16] == ["check", "check_reasons"]
    # then the pair, then one column per registered check, last (their number grows with the registry)
    assert header[16:22] == ["outcome", "reasons", "paired_with", "burst", "burst_rank", "subject"]
    assert header[22:] == [f"flag_{c['key']}" for c in checks()] and header[22] == "flag_blink"
    by_name = {r[0]: dict(zip(header, r)) for r in rows}
    still = by_name["IMG_0007.JPG"]
    assert (still["check"], still["check_reasons"]) == ("yes", "near the cut-off (main face left eye 60% open)")
    assert (still["outcome"], still["reasons"], still["flag_blink"]) == (
        "check", "near the cut-off (main face left eye 60% open)", "check")
    assert {r["outcome"] for r in by_name.values()} >= {"check", "keeper"}
    assert still["verdict"] == "NOT_BLINKING" and still["all_eyes"] == "face 1: right open 90%, left partly closed (60% open)"
    assert (by_name["IMG_0008.JPG"]["check"], by_name["IMG_0008.JPG"]["check_reasons"]) == ("no", "")
    assert {r["check"] for n, r in by_name.items() if n not in ("IMG_0007.JPG",)} == {"no"}  # unreadable too


def test_xmp_gives_photos_still_to_check_the_check_colour(alice_session, with_checks, tmp_path):
    out, _ = export_write(session=alice_session, fmt="xmp", out=tmp_path / "a")
    still = (out / "IMG_0007.xmp").read_text()
    assert 'xmp:Rating="0"' in still and 'xmp:Label="Purple"' in still  # its verdict's rating, the check colour
    assert 'xmp:Label="Red"' in (out / "IMG_0008.xmp").read_text()  # decided: a reject like any other

    out, _ = export_write(session=alice_session, fmt="xmp", out=tmp_path / "b", options={"label_check": "none"})
    assert "xmp:Label" not in (out / "IMG_0007.xmp").read_text()  # the keeper's own label (none)


def test_cli_exports_the_check_group_and_keeps_its_output(alice_session, with_checks, tmp_path):
    out = io.StringIO()
    call_command("export_session", str(alice_session.uuid), "--format", "folders-zip", "--out",
                 str(tmp_path / "s.zip"), stdout=out)
    assert out.getvalue() == f"7 photos from “{alice_session.title}” written to {tmp_path / 's.zip'}\n"
    assert "CHECK/IMG_0007.JPG" in _zip_names((tmp_path / "s.zip").read_bytes())
    call_command("export_session", str(alice_session.uuid), "--format", "xmp", "--out", str(tmp_path / "side"),
                 "--label-check", "yellow", stdout=io.StringIO())
    assert 'xmp:Label="Yellow"' in (tmp_path / "side" / "IMG_0007.xmp").read_text()


def test_storage_asking_to_slow_down_retries_an_export_task_too(alice, alice_session, shoot, monkeypatch):
    # The retry policy lives in the shared task base, so every job gets it, not only photos.
    from botocore.exceptions import ClientError
    from django.core.files.storage import FileSystemStorage

    from review.tasks import build_export_task

    real_save, calls = FileSystemStorage.save, []

    def slow_down_once(storage, name, content, *args, **kwargs):
        calls.append(name)
        if len(calls) == 1:
            answer = {"Error": {"Code": "SlowDown"}, "ResponseMetadata": {"HTTPStatusCode": 503}}
            raise ClientError(answer, "PutObject")
        return real_save(storage, name, content, *args, **kwargs)

    monkeypatch.setattr(FileSystemStorage, "save", slow_down_once)
    export = Export.objects.create(session=alice_session, format="csv", requested_by=alice)

    assert build_export_task.apply(args=[export.id]).successful()

    export.refresh_from_db()
    assert export.status == Export.Status.DONE and len(calls) == 2


def test_csv_openness_is_the_judged_openness_as_the_readme_says(alice_session, tmp_path):
    from pathlib import Path

    from ml.openness import openness
    from tests.review_builders import face

    shut = face(1.0, 0.02)
    shut["eyes"][1]["openness"] = openness(1.0, lid_ratio=0.2)  # a shut eye whose lids still show a slit
    make_judged_photo(alice_session, faces=[shut], name="SHUT.JPG")
    path, _ = export_write(session=alice_session, fmt="csv", out=tmp_path / "r.csv")
    (row,) = csv.DictReader(path.read_text(encoding="utf-8-sig").splitlines())
    assert "left closed 100%" in row["all_eyes"]  # P(closed) on the card and in all_eyes
    assert row["left_eye_openness"] == f"{openness(1.0, lid_ratio=0.2):.2f}" != "0.00"  # not 1 - P(closed)
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert "1 = wide open, = 1 − P(closed)" not in readme and "so not 1 − P(closed)" in readme
