"""`manage.py read_decisions`: the keep / reject marks a photographer set in their editor, read back from XMP
beside (or inside) their copies and recorded as their whole-photo decisions, one undo step, Eye Spy's own
marks ignored, a second run recording nothing."""
from __future__ import annotations

import io
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from classifier.models import Correction, TrainingOptOut
from learning import services as learning_services
from learning.services.labelling import RULE_KEEP_PHOTO, RULE_MOST_CLOSED
from review.exports.xmp_packet import XmpFields, merge
from review.selectors import session_cards
from review.services import session_undo_last
from tests.conftest import require
from tests.factories import make_session, make_user, shot_at
from tests.review_builders import BLINK, OPEN, make_judged_photo

pytestmark = pytest.mark.django_db
EXIFTOOL = shutil.which("exiftool")


def their_sidecar(*, rating: str | None = None, label: str | None = None) -> bytes:
    """A sidecar as Lightroom or darktable leaves it: their develop settings, their rating and label."""
    marks = (f' xmp:Rating="{rating}"' if rating is not None else "") + (f' xmp:Label="{label}"' if label else "")
    return f"""<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
 <rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/"
   xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/" crs:Exposure2012="+0.35"{marks}/>
 </rdf:RDF></x:xmpmeta>""".encode()


# What sync_xmp writes for a reject: the same rating and label a photographer's reject would have.
EYESPY_REJECT = merge(None, XmpFields(rating=-1, label="Red", keywords=("Eye Spy|blink",)))[0]

SHOTS = {  # name: (faces the machine saw, what the photographer's folder holds beside it)
    "IMG_0001.JPG": (OPEN, {"IMG_0001.xmp": their_sidecar(rating="-1")}),  # rejected with the reject flag
    "IMG_0002.JPG": (OPEN, {"IMG_0002.JPG.xmp": their_sidecar(label="Red")}),  # darktable naming, red label
    "IMG_0003.JPG": (BLINK, {"img_0003.xmp": their_sidecar(rating="3")}),  # kept with 3 stars
    "IMG_0004.JPG": (BLINK, {"IMG_0004.xmp": their_sidecar(rating="-1", label="Red")}),  # agrees with Eye Spy
    "IMG_0005.JPG": (BLINK, {"IMG_0005.xmp": EYESPY_REJECT}),  # only what Eye Spy wrote
    "IMG_0006.JPG": (OPEN, {"IMG_0006.xmp": their_sidecar(label="Yellow")}),  # a mark that decides nothing
}


@pytest.fixture
def session():
    return make_session(make_user("alice@example.com"), title="Smith family")


@pytest.fixture
def card(session, tmp_path):
    """The session, and the photographer's folder: their copies, their sidecars, a stranger and a note."""
    root = tmp_path / "card"
    dcim = root / "DCIM" / "100CANON"
    dcim.mkdir(parents=True)
    for n, (name, (faces, sidecars)) in enumerate(SHOTS.items(), start=1):
        data = shot_at(n, n)
        taken = timezone.make_aware(datetime(2024, 5, 1, 10, 0, n), timezone.get_default_timezone())
        make_judged_photo(session, faces=faces, name=name, data=data, taken_at=taken)
        (dcim / name).write_bytes(data)
        for sidecar, packet in sidecars.items():
            (dcim / sidecar).write_bytes(packet)
    make_judged_photo(session, faces=OPEN, name="IMG_0009.JPG")  # not in their folder
    (root / "other").mkdir()
    (root / "other" / "IMG_0001.JPG").write_bytes(shot_at(59, 9))  # another camera's IMG_0001
    (root / "other" / "IMG_0001.xmp").write_bytes(their_sidecar(rating="5"))
    (root / "notes.txt").write_text("shot list")
    return root


def read(session, root: Path, *args: str) -> list[str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("read_decisions", str(session.uuid), "--from", str(root), *args, stdout=out, stderr=err)
    assert "Traceback" not in out.getvalue() + err.getvalue()
    return err.getvalue().splitlines() + out.getvalue().splitlines()  # failures go to stderr; the summary last


def line_for(lines: list[str], path: str) -> str:
    return next(line for line in lines if line.startswith(path + ":"))


def calls(session) -> dict[str, str]:
    """Each photo's whole-photo call as the review shows it now ("" = none)."""
    return {c.photo.original_filename: c.whole_photo_call for c in session_cards(session=session)}


def test_ratings_and_labels_become_the_photographers_decisions(session, card):
    lines = read(session, card)

    assert line_for(lines, "DCIM/100CANON/IMG_0001.JPG").startswith(
        "DCIM/100CANON/IMG_0001.JPG: changed (reject, was a keeper; IMG_0001.xmp: rating -1)")
    assert "changed (reject, was a keeper; IMG_0002.JPG.xmp: label Red)" in line_for(lines, "DCIM/100CANON/IMG_0002.JPG")
    assert "changed (keep, was a reject; img_0003.xmp: rating 3 — eyes taken as open)" in line_for(
        lines, "DCIM/100CANON/IMG_0003.JPG")
    assert "confirmed (reject, as Eye Spy said" in line_for(lines, "DCIM/100CANON/IMG_0004.JPG")
    assert lines[-1].startswith("3 changed, 1 confirmed, 0 unchanged, 2 without a decision, 2 unmatched, "
                                "1 not found, 0 failed.")
    assert calls(session) == {"IMG_0001.JPG": "reject", "IMG_0002.JPG": "reject", "IMG_0003.JPG": "keep",
                              "IMG_0004.JPG": "reject", "IMG_0005.JPG": "", "IMG_0006.JPG": "", "IMG_0009.JPG": ""}
    rows = Correction.objects.filter(photo__session=session)
    assert {r.created_by.email for r in rows} == {"alice@example.com"}  # the photographer's own word
    assert len({r.batch for r in rows}) == 1 and rows.first().batch is not None


def test_what_eye_spy_wrote_itself_is_not_a_decision(session, card):
    lines = read(session, card)
    assert line_for(lines, "DCIM/100CANON/IMG_0005.JPG") == "DCIM/100CANON/IMG_0005.JPG: no decision in the file"

    # The photographer changes our rating in our own sidecar: now it is theirs.
    sidecar = card / "DCIM" / "100CANON" / "IMG_0005.xmp"
    sidecar.write_bytes(EYESPY_REJECT.replace(b'xmp:Rating="-1"', b'xmp:Rating="4"'))
    assert "changed (keep, was a reject; IMG_0005.xmp: rating 4 — eyes taken as open)" in line_for(
        read(session, card), "DCIM/100CANON/IMG_0005.JPG")


def test_files_that_match_no_photo_are_listed_with_why(session, card):
    lines = read(session, card)
    assert "unmatched (same name as a photo in the session, but neither size nor capture time match)" in line_for(
        lines, "other/IMG_0001.JPG")
    assert line_for(lines, "notes.txt") == "notes.txt: unmatched (no photo of this name in the session)"
    assert line_for(lines, "IMG_0009.JPG") == "IMG_0009.JPG: not found (not found under card)"
    assert calls(session)["IMG_0001.JPG"] == "reject"  # the stranger's 5 stars went nowhere


def test_a_dry_run_says_the_same_and_records_nothing(session, card):
    lines = read(session, card, "--dry-run")
    assert Correction.objects.filter(photo__session=session).count() == 0
    assert lines[-1].endswith("Dry run: nothing recorded.")
    assert lines[:-1] == read(session, card)[:-1]


def test_a_second_run_records_nothing_new(session, card):
    read(session, card)
    before = Correction.objects.count()
    again = read(session, card)

    assert Correction.objects.count() == before
    assert line_for(again, "DCIM/100CANON/IMG_0001.JPG").startswith(
        "DCIM/100CANON/IMG_0001.JPG: unchanged (reject, as you had already decided")
    assert again[-1].startswith("0 changed, 0 confirmed, 4 unchanged,")


def test_undo_takes_the_whole_import_back_in_one_step(session, card):
    before = calls(session)
    read(session, card)
    assert wanted(session)  # the eye labels came in with the decisions
    undone = session_undo_last(session=session, by=session.owner)

    # 4 decisions and the 2 eye rows that came with them (IMG_0003's keep, IMG_0004's blink), one step.
    assert len(undone.undos) == 6 and undone.message == "Undone: 4 photos marked reject."
    assert calls(session) == before
    assert wanted(session) == {}
    assert session_undo_last(session=session, by=session.owner) is None


# --- What the decisions teach the eye model ----------------------------------------------------------------


def wanted(session) -> dict[str, list[tuple[int, str, str, str]]]:
    """photo name -> the eyes training would label from the corrections in force: (face, side, label, rule)."""
    names = dict(session.photos.values_list("id", "original_filename"))
    out: dict[str, list] = {}
    for photo_id, face_index, side, label, rule in learning_services.training_examples_wanted():
        out.setdefault(names[photo_id], []).append((face_index, side, label, rule))
    return out


def eye_rows(session, name: str) -> list[tuple[str, str, str]]:
    return list(Correction.objects.filter(photo__session=session, photo__original_filename=name)
                .order_by("created_at", "id").values_list("flag", "value", "label"))


def test_a_keep_takes_the_subjects_eyes_as_open_for_training(session, card):
    lines = read(session, card)

    # IMG_0003: Eye Spy saw a blink, the photographer delivered it: the eyes are acceptable.
    assert eye_rows(session, "IMG_0003.JPG") == [("blink", "clear", "NOT_BLINKING"), ("", "keep", "")]
    rows = Correction.objects.filter(photo__original_filename="IMG_0003.JPG")
    assert len({r.batch for r in rows}) == 1  # one batch: the keep on top, the eyes under it
    assert calls(session)["IMG_0003.JPG"] == "keep"  # the review still shows the photographer's keep
    assert wanted(session)["IMG_0003.JPG"] == [(0, "left", "open", RULE_KEEP_PHOTO),
                                               (0, "right", "open", RULE_KEEP_PHOTO)]
    assert "rating 3 — eyes taken as open)" in line_for(lines, "DCIM/100CANON/IMG_0003.JPG")
    assert "Adds 3 eye labels for training (2 open, 1 closed)." in lines[-1]


def test_a_reject_teaches_a_blink_only_where_eye_spy_saw_one(session, card):
    lines = read(session, card)

    # IMG_0004: Eye Spy flagged the blink and the photographer rejected it: a confirmed blink.
    assert eye_rows(session, "IMG_0004.JPG") == [("blink", "flagged", "BLINKING"), ("", "reject", "")]
    assert wanted(session)["IMG_0004.JPG"] == [(0, "left", "closed", RULE_MOST_CLOSED)]
    assert "label Red — taken as the blink Eye Spy saw)" in line_for(lines, "DCIM/100CANON/IMG_0004.JPG")
    # IMG_0001 / IMG_0002: eyes open to Eye Spy; a reject doesn't say why, so the eyes learn nothing.
    for name in ("IMG_0001.JPG", "IMG_0002.JPG"):
        assert eye_rows(session, name) == [("", "reject", "")] and name not in wanted(session)
    assert line_for(lines, "DCIM/100CANON/IMG_0001.JPG").endswith("rating -1)")


def test_no_eye_labels_records_the_whole_photo_decisions_only(session, card):
    lines = read(session, card, "--no-eye-labels")

    assert set(Correction.objects.filter(photo__session=session).values_list("flag", flat=True)) == {""}
    assert calls(session)["IMG_0003.JPG"] == "keep" and wanted(session) == {}
    assert "changed (keep, was a reject; img_0003.xmp: rating 3)" in line_for(lines, "DCIM/100CANON/IMG_0003.JPG")
    assert lines[-1].endswith("Eye labels are off for this read: the eye model learns nothing from it.")


def test_a_second_read_adds_no_eye_rows_either(session, card):
    read(session, card)
    before = sorted(Correction.objects.values_list("photo__original_filename", "flag", "value"))
    again = read(session, card)
    assert sorted(Correction.objects.values_list("photo__original_filename", "flag", "value")) == before
    assert "Adds 0 eye labels for training" in again[-1]


def test_a_dry_run_says_what_it_would_teach(session, card):
    lines = read(session, card, "--dry-run")
    assert "Would add 3 eye labels for training (2 open, 1 closed). Dry run: nothing recorded." in lines[-1]
    assert "rating 3 — eyes taken as open)" in line_for(lines, "DCIM/100CANON/IMG_0003.JPG")


def test_a_corrupt_sidecar_fails_alone(session, card):
    broken = card / "DCIM" / "100CANON" / "IMG_0002.JPG.xmp"
    broken.write_bytes(b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF")
    lines = read(session, card)

    assert "failed (IMG_0002.JPG.xmp: its XMP is not well-formed" in line_for(lines, "DCIM/100CANON/IMG_0002.JPG")
    assert calls(session)["IMG_0002.JPG"] == ""
    assert calls(session)["IMG_0001.JPG"] == "reject"  # the others went on
    assert lines[-1].startswith("2 changed, 1 confirmed,") and "1 failed." in lines[-1]


def test_marks_that_disagree_decide_nothing(session, card):
    (card / "DCIM" / "100CANON" / "IMG_0006.xmp").write_bytes(their_sidecar(rating="5", label="Red"))
    line = line_for(read(session, card), "DCIM/100CANON/IMG_0006.JPG")
    assert line.startswith("DCIM/100CANON/IMG_0006.JPG: no decision in the file (its marks disagree:")
    assert calls(session)["IMG_0006.JPG"] == ""


def test_labels_and_the_keep_rating_can_be_chosen(session, card):
    lines = read(session, card, "--reject-label", "none", "--keep-label", "Yellow", "--keep-rating", "4")
    assert "IMG_0002.JPG: no decision in the file" in line_for(lines, "DCIM/100CANON/IMG_0002.JPG")
    assert "no decision" in line_for(lines, "DCIM/100CANON/IMG_0003.JPG")  # 3 stars are below 4 now
    assert "confirmed (keep, as Eye Spy said; IMG_0006.xmp: label Yellow — eyes taken as open)" in line_for(
        lines, "DCIM/100CANON/IMG_0006.JPG")
    with pytest.raises(CommandError, match="1 to 5 stars"):
        read(session, card, "--keep-rating", "0")


def test_xmp_inside_a_jpeg_counts_and_the_file_is_still_found_by_capture_time(session, card):
    require(EXIFTOOL is not None, "exiftool not installed (Debian: libimage-exiftool-perl)")
    photo = card / "DCIM" / "100CANON" / "IMG_0004.JPG"
    (card / "DCIM" / "100CANON" / "IMG_0004.xmp").unlink()
    subprocess.run([EXIFTOOL, "-q", "-overwrite_original", "-XMP-xmp:Label=Green", str(photo)], check=True)

    assert "changed (keep, was a reject; IMG_0004.JPG: label Green — eyes taken as open)" in line_for(
        read(session, card), "DCIM/100CANON/IMG_0004.JPG")


def test_xmp_inside_a_heic_counts_too(session, card):
    require(EXIFTOOL is not None, "exiftool not installed (Debian: libimage-exiftool-perl)")
    import pillow_heif
    from PIL import Image

    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "2024:05:01 10:00:10"  # Exif IFD, DateTimeOriginal
    buf = io.BytesIO()
    pillow_heif.from_pillow(Image.effect_noise((80, 60), 50).convert("RGB")).save(buf, quality=80, exif=exif.tobytes())
    taken = timezone.make_aware(datetime(2024, 5, 1, 10, 0, 10), timezone.get_default_timezone())
    heic = make_judged_photo(session, faces=BLINK, name="IMG_0010.HEIC", data=buf.getvalue(), taken_at=taken)
    heic.content_type, heic.extension = "image/heic", ".heic"
    heic.save()
    photo = card / "DCIM" / "100CANON" / "IMG_0010.HEIC"
    photo.write_bytes(buf.getvalue())
    subprocess.run([EXIFTOOL, "-q", "-overwrite_original", "-XMP-xmp:Label=Green", str(photo)], check=True)

    assert "IMG_0010.HEIC: label Green" in line_for(read(session, card), "DCIM/100CANON/IMG_0010.HEIC")
    assert calls(session)["IMG_0010.HEIC"] == "keep"


def test_an_opted_out_session_is_told_its_decisions_stay_out_of_training(session, card):
    TrainingOptOut.objects.create(owner=session.owner, session=session)
    lines = read(session, card)
    assert lines[-1].endswith("This session is kept out of training: the decisions count in the review only.")
    assert calls(session)["IMG_0001.JPG"] == "reject"


def test_a_folder_that_is_not_one_is_a_readable_error(session, tmp_path):
    with pytest.raises(CommandError, match="is not a folder"):
        call_command("read_decisions", str(session.uuid), "--from", str(tmp_path / "nowhere"))


def test_the_session_page_reads_a_folder_inside_the_photographers_own_only(session, card, tmp_path, settings, client):
    """The page shows what the marks would change, records them on a second click, and never reads a
    folder outside <EYESPY_EDITOR_FOLDERS_ROOT>/<their email>/."""
    root = tmp_path / "editor"
    (root / session.owner.email).mkdir(parents=True)
    card.rename(root / session.owner.email / "Smith")
    (root / "bob@example.com" / "secret").mkdir(parents=True)
    settings.EYESPY_EDITOR_FOLDERS_ROOT = str(root)
    session.photos.update(status="done")
    client.force_login(session.owner)
    url = f"/sessions/{session.uuid}/decisions/"
    assert "Read the keeps and rejects you set" in client.get(f"/sessions/{session.uuid}/").content.decode()

    shown = client.post(url, {"folder": "Smith"}).content.decode()
    assert "Dry run: nothing recorded." in shown and "Record these decisions" in shown
    assert 'name="no_eye_labels"' in shown and "Would add 3 eye labels for training" in shown
    assert not Correction.objects.exists()
    done = client.post(url, {"folder": "Smith", "record": "1"}).content.decode()
    assert "changed" in done and Correction.objects.filter(photo__session=session).exists()
    assert "Adds 3 eye labels for training" in done and Correction.objects.filter(flag="blink").count() == 2

    for outside in ("../bob@example.com/secret", "Smith/../../bob@example.com"):
        page = client.post(url, {"folder": outside}, follow=True).content.decode()
        assert "outside your own folder" in page, outside
    # An absolute path is read below their own folder, where there is no such folder.
    assert "No folder /etc in your folder" in client.post(url, {"folder": "/etc"}, follow=True).content.decode()
    settings.EYESPY_EDITOR_FOLDERS_ROOT = None
    assert "not set up" in client.post(url, {"folder": "Smith"}, follow=True).content.decode()
    assert "Read the keeps and rejects you set" not in client.get(f"/sessions/{session.uuid}/").content.decode()


def test_recording_costs_the_same_queries_for_many_photos_as_for_few(tmp_path):
    """The session page records in its web request (600 photos: ~0.5 s, bench/decisions_bench.py), so the
    recording reads its cards and writes its rows in bulk: no query per photo."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from review.services import editor_decisions_read

    owner = make_user("carol@example.com")

    def recorded_queries(n: int) -> int:
        session = make_session(owner)
        folder = tmp_path / f"n{n}"
        folder.mkdir()
        for i in range(n):
            data = shot_at(i, 100 + n + i)
            make_judged_photo(session, faces=BLINK if i % 2 else OPEN, name=f"IMG_{i:04d}.JPG", data=data)
            (folder / f"IMG_{i:04d}.JPG").write_bytes(data)
            (folder / f"IMG_{i:04d}.xmp").write_bytes(their_sidecar(rating="3" if i % 3 else "-1"))
        with CaptureQueriesContext(connection) as queries:
            report = editor_decisions_read(session=session, folder=folder)
        assert report.count("changed") + report.count("confirmed") == n
        return len(queries)

    assert recorded_queries(9) == recorded_queries(3)
