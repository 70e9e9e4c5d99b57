"""The picks back to the photographer: CSV, filename filters for Lightroom / Capture One / Finder, and XMP
sidecars on the same originals that exiftool reads back as the gallery's pick label and rating."""
from __future__ import annotations

import csv
import io
import shutil
import subprocess
import zipfile

import pytest

from galleries import exports, selectors, services
from galleries.selections import selection_comment, selection_set_favourite
from sessions_app.models import Selection
from tests.conftest import require
from tests.gallery_builders import judged_shoot, make_gallery
from tests.review_builders import OPEN, make_judged_photo


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    monkeypatch.setattr(services, "gallery_previews_enqueue", lambda *, gallery: None)


@pytest.fixture
def chosen(alice_session):
    keep, _ = judged_shoot(alice_session, keepers=4, blinks=1)
    keep.append(make_judged_photo(alice_session, faces=OPEN, name="=cmd|calc.JPG"))
    gallery = make_gallery(alice_session, keep, pick_label="Purple", pick_rating=4, previews=False)
    items = list(gallery.items.order_by("position"))
    jane = Selection.objects.create(gallery=gallery, name="Jane", email="jane@example.com")
    tom = Selection.objects.create(gallery=gallery, name="Tom", email="tom@example.com")
    for item in (items[0], items[2], items[4]):
        selection_set_favourite(selection=jane, item=item, favourite=True)
    selection_set_favourite(selection=tom, item=items[2], favourite=True)
    selection_comment(selection=jane, item=items[2], text="black and white?")
    return gallery, jane, tom


def test_filters_for_each_editor(chosen):
    gallery, *_ = chosen
    picks = selectors.gallery_selections(gallery=gallery).combined
    assert exports.filename_filters(picks) == {
        "lightroom": "KEEP_00, KEEP_02, =cmd|calc",
        "capture_one": "KEEP_00 KEEP_02 =cmd|calc",
        "finder": "KEEP_00 OR KEEP_02 OR =cmd|calc",
    }


def test_csv_of_everyones_picks_and_of_one_guest(web, chosen):
    gallery, _jane, tom = chosen
    resp = web.get(f"/galleries/{gallery.uuid}/export/csv/")
    assert resp.status_code == 200 and 'filename="smith-wedding-picks.csv"' in resp["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.content.decode("utf-8-sig"))))
    assert [r["file_name"] for r in rows] == ["KEEP_00.JPG", "KEEP_02.JPG", "'=cmd|calc.JPG"]  # formula guarded
    assert rows[1]["picks"] == "2" and "Tom <tom@example.com>" in rows[1]["picked_by"]
    assert rows[1]["comments"] == "Jane: black and white?"
    one = web.get(f"/galleries/{gallery.uuid}/export/csv/?guest={tom.uuid}")
    assert [r["file_name"] for r in csv.DictReader(io.StringIO(one.content.decode("utf-8-sig")))] == ["KEEP_02.JPG"]


def test_another_photographer_cant_export_and_a_foreign_guest_is_404(bob_web, web, chosen, alice_session):
    gallery, *_ = chosen
    assert bob_web.get(f"/galleries/{gallery.uuid}/export/csv/").status_code == 404
    other = make_gallery(alice_session, [gallery.items.first().photo], previews=False, title="o")
    stranger = Selection.objects.create(gallery=other, name="X", email="x@x.io")
    assert web.get(f"/galleries/{gallery.uuid}/export/csv/?guest={stranger.uuid}").status_code == 404
    assert web.get(f"/galleries/{gallery.uuid}/export/pdf/").status_code == 404


def test_xmp_sidecars_carry_the_pick_label_and_rating_and_exiftool_reads_them(web, chosen, tmp_path):
    gallery, *_ = chosen
    resp = web.get(f"/galleries/{gallery.uuid}/export/xmp/")
    with zipfile.ZipFile(io.BytesIO(resp.content)) as zf:
        # Picks only; entry names portable (no | on Windows), like every ZIP export.
        assert sorted(zf.namelist()) == ["=cmd_calc.xmp", "KEEP_00.xmp", "KEEP_02.xmp"]
        zf.extractall(tmp_path)
    require(shutil.which("exiftool") is not None, "exiftool is not installed")
    out = subprocess.run(["exiftool", "-j", "-XMP:Label", "-XMP:Rating", str(tmp_path / "KEEP_02.xmp")],
                         capture_output=True, text=True, check=True)
    import json

    (tags,) = json.loads(out.stdout)
    assert tags["Label"] == "Purple" and tags["Rating"] == 4
    full = web.get(f"/galleries/{gallery.uuid}/export/xmp/?naming=full")
    assert "KEEP_00.JPG.xmp" in zipfile.ZipFile(io.BytesIO(full.content)).namelist()


def _dc_description(data: bytes) -> str:
    import xml.etree.ElementTree as ET

    root = ET.fromstring(data.split(b"?>", 1)[1].rsplit(b"<?xpacket", 1)[0])
    lines = root.findall(".//{http://purl.org/dc/elements/1.1/}description//{http://www.w3.org/1999/02/22-rdf-syntax-ns#}li")
    return "\n".join(li.text or "" for li in lines)


def test_the_guests_retouch_note_travels_in_the_picks_xmp(web, chosen):
    gallery, jane, _tom = chosen
    item = gallery.items.order_by("position")[0]
    selection_comment(selection=jane, item=item, text="please soften\nthe scar")
    resp = web.get(f"/galleries/{gallery.uuid}/export/xmp/")
    with zipfile.ZipFile(io.BytesIO(resp.content)) as zf:
        assert _dc_description(zf.read("KEEP_00.xmp")) == "Eye Spy: client notes: Jane: please soften the scar"
        assert _dc_description(zf.read("KEEP_02.xmp")) == "Eye Spy: client notes: Jane: black and white?"
        assert _dc_description(zf.read("=cmd_calc.xmp")) == ""  # picked without a note: no line
