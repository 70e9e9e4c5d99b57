"""`manage.py sync_xmp`: sidecars (or XMP inside) beside the photographer's own copies, found by name, checked
by size or capture time; their metadata merged, not replaced; strangers listed and never touched."""
from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.utils import timezone
from PIL import Image

from review.exports.xmp_embed import read_embedded
from review.exports.xmp_packet import read_fields
from tests.factories import shot_at
from tests.review_builders import BLINK, OPEN, make_judged_photo

CR3 = b"\x00\x00\x00\x18ftypcrx \x00\x00\x00\x01crx isom" + bytes(64)
THEIR_SIDECAR = b"""<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
 <rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/"
   xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/" crs:Exposure2012="+0.35" xmp:Rating="4">
  <dc:subject><rdf:Bag><rdf:li>Smith family</rdf:li></rdf:Bag></dc:subject>
 </rdf:Description></rdf:RDF></x:xmpmeta>"""


def pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("RGB"))


@pytest.fixture
def card(alice_session, tmp_path):
    """A session and the photographer's card dump: same files under their own folders and name case."""
    def taken(second):
        return timezone.make_aware(datetime(2024, 5, 1, 10, 0, second), timezone.get_default_timezone())

    data = {1: shot_at(1, 1), 2: shot_at(2, 2), 4: shot_at(3, 4)}  # 4: the pair's JPEG, shot with its RAW
    make_judged_photo(alice_session, faces=OPEN, name="IMG_0001.JPG", data=data[1], taken_at=taken(1))
    make_judged_photo(alice_session, faces=BLINK, name="IMG_0002.JPG", data=data[2], taken_at=taken(2))
    pair = make_judged_photo(alice_session, faces=BLINK, name="IMG_0003.CR3", data=shot_at(3, 3), taken_at=taken(3))
    pair.original.save("raw", ContentFile(CR3), save=False)
    pair.companion.save("jpg", ContentFile(data[4]), save=False)
    pair.content_type, pair.companion_content_type = "image/x-canon-cr3", "image/jpeg"
    pair.companion_filename, pair.bytes, pair.companion_bytes = "IMG_0003.JPG", len(CR3), len(data[4])
    pair.save()
    make_judged_photo(alice_session, faces=OPEN, name="IMG_0009.JPG")  # not on their disk

    root = tmp_path / "card"
    dcim = root / "DCIM" / "100CANON"
    dcim.mkdir(parents=True)
    (dcim / "IMG_0001.JPG").write_bytes(data[1])
    (dcim / "img_0002.jpg").write_bytes(data[2])
    (dcim / "img_0002.xmp").write_bytes(THEIR_SIDECAR)
    (dcim / "IMG_0003.CR3").write_bytes(CR3)
    (dcim / "IMG_0003.JPG").write_bytes(data[4])
    (root / "other").mkdir()
    (root / "other" / "IMG_0001.JPG").write_bytes(shot_at(59, 9))  # another camera's IMG_0001
    (root / "notes.txt").write_text("shot list")
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def sync(session, root: Path, *args: str) -> list[str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("sync_xmp", str(session.uuid), "--to", str(root), *args, stdout=out, stderr=err)
    text = out.getvalue() + err.getvalue()
    assert "Traceback" not in text
    return text.splitlines()


def line_for(lines: list[str], path: str) -> str:
    return next(line for line in lines if line.startswith(path + ":"))


def test_dry_run_lists_what_would_change_and_touches_nothing(alice_session, card):
    before = snapshot(card)
    lines = sync(alice_session, card, "--dry-run")

    assert snapshot(card) == before
    assert line_for(lines, "DCIM/100CANON/IMG_0001.xmp").startswith("DCIM/100CANON/IMG_0001.xmp: would be created")
    assert "would be updated" in line_for(lines, "DCIM/100CANON/img_0002.xmp")
    assert "neither size nor capture time match" in line_for(lines, "other/IMG_0001.JPG")
    assert "no photo of this name" in line_for(lines, "notes.txt")
    assert "not found" in line_for(lines, "IMG_0009.JPG")
    assert "covered (by IMG_0003.xmp" in line_for(lines, "DCIM/100CANON/IMG_0003.JPG")  # the pair shares it
    assert lines[-1] == "7 files looked at, 3 would change, 0 failed."


def test_sidecars_are_written_and_merged_beside_their_copies(alice_session, card):
    stranger = (card / "other" / "IMG_0001.JPG").read_bytes()
    lines = sync(alice_session, card, "--keep-their-rating")

    dcim = card / "DCIM" / "100CANON"
    theirs = read_fields((dcim / "img_0002.xmp").read_bytes())
    assert theirs["rating"] == "4" and theirs["label"] == "Red"  # their rating kept, as asked
    assert theirs["subject"] == ["Smith family", "blink"]
    assert theirs["hierarchical"] == ["Eye Spy|blink", "Eye Spy|reject|blink"]
    assert b'crs:Exposure2012="+0.35"' in (dcim / "img_0002.xmp").read_bytes()
    assert read_fields((dcim / "IMG_0003.xmp").read_bytes())["rating"] == "-1"  # the pair shares IMG_0003.xmp
    assert read_fields((dcim / "IMG_0001.xmp").read_bytes())["rating"] == "0"
    assert (card / "other" / "IMG_0001.JPG").read_bytes() == stranger and not (card / "other" / "IMG_0001.xmp").exists()
    assert "kept their rating 4" in line_for(lines, "DCIM/100CANON/img_0002.xmp")

    again = sync(alice_session, card)
    assert line_for(again, "DCIM/100CANON/IMG_0003.xmp") == "DCIM/100CANON/IMG_0003.xmp: unchanged"


def test_full_naming_gives_each_file_of_a_pair_its_own_sidecar(alice_session, card):
    sync(alice_session, card, "--xmp-naming", "full")
    dcim = card / "DCIM" / "100CANON"
    assert (dcim / "IMG_0003.CR3.xmp").exists() and (dcim / "IMG_0003.JPG.xmp").exists()


def test_embed_writes_into_jpegs_and_beside_raws_and_finds_them_again_by_capture_time(alice_session, card):
    dcim = card / "DCIM" / "100CANON"
    before = (dcim / "IMG_0003.JPG").read_bytes()
    lines = sync(alice_session, card, "--embed")

    after = (dcim / "IMG_0003.JPG").read_bytes()
    assert np.array_equal(pixels(after), pixels(before)) and len(after) > len(before)
    assert read_fields(read_embedded(io.BytesIO(after)))["hierarchical"] == ["Eye Spy|blink", "Eye Spy|reject|blink"]
    assert (dcim / "IMG_0003.CR3").read_bytes() == CR3 and (dcim / "IMG_0003.xmp").exists()
    assert "XMP inside" in line_for(lines, "DCIM/100CANON/IMG_0003.JPG")

    again = sync(alice_session, card, "--embed")  # sizes changed; the capture time still says it is ours
    assert line_for(again, "DCIM/100CANON/IMG_0003.JPG") == "DCIM/100CANON/IMG_0003.JPG: unchanged"


def test_embed_writes_into_a_heic_and_finds_it_again_by_capture_time(alice_session, tmp_path):
    import pillow_heif  # its Image opener stays unregistered here: the sync must register it itself

    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "2024:05:01 10:00:05"  # Exif IFD, DateTimeOriginal
    buf = io.BytesIO()
    pillow_heif.from_pillow(Image.effect_noise((80, 60), 45).convert("RGB")).save(buf, quality=80, exif=exif.tobytes())
    before = buf.getvalue()
    taken = timezone.make_aware(datetime(2024, 5, 1, 10, 0, 5), timezone.get_default_timezone())
    photo = make_judged_photo(alice_session, faces=BLINK, name="IMG_0005.HEIC", data=before, taken_at=taken)
    photo.content_type, photo.extension = "image/heic", ".heic"
    photo.save()
    (tmp_path / "IMG_0005.HEIC").write_bytes(before)

    lines = sync(alice_session, tmp_path, "--embed")
    after = (tmp_path / "IMG_0005.HEIC").read_bytes()
    assert "XMP inside" in line_for(lines, "IMG_0005.HEIC") and not (tmp_path / "IMG_0005.xmp").exists()
    assert read_fields(read_embedded(io.BytesIO(after)))["hierarchical"] == ["Eye Spy|blink", "Eye Spy|reject|blink"]
    decoded = [np.asarray(pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=True)) for data in (before, after)]
    assert np.array_equal(*decoded)

    again = sync(alice_session, tmp_path, "--embed")  # a new size: the capture time still says it is ours
    assert line_for(again, "IMG_0005.HEIC") == "IMG_0005.HEIC: unchanged"


def test_a_broken_sidecar_fails_alone_with_a_reason(alice_session, card):
    broken = card / "DCIM" / "100CANON" / "img_0002.xmp"
    broken.write_bytes(b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF")
    lines = sync(alice_session, card)

    assert "failed (its XMP is not well-formed" in line_for(lines, "DCIM/100CANON/img_0002.xmp")
    assert broken.read_bytes() == b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF"
    assert (card / "DCIM" / "100CANON" / "IMG_0001.xmp").exists()  # the others went on


def test_a_folder_that_is_not_one_is_a_readable_error(alice_session, tmp_path):
    with pytest.raises(CommandError, match="is not a folder"):
        call_command("sync_xmp", str(alice_session.uuid), "--to", str(tmp_path / "nowhere"))
