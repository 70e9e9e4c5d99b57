"""The "with metadata embedded" export: XMP inside JPEG and HEIC copies (pixels untouched), sidecars beside RAWs,
a README in the ZIP; from the CLI and from the exports page — and another photographer's is a 404."""
from __future__ import annotations

import io
import zipfile

import numpy as np
import pillow_heif
import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from PIL import Image

from review import selectors
from review.exports.embedded_zip import README_NAME
from review.exports.xmp_packet import read_fields
from review.exports.xmp_embed import read_embedded
from sessions_app.models import Export
from tests.review_builders import BLINK, OPEN, make_judged_photo

CR3 = b"\x00\x00\x00\x18ftypcrx \x00\x00\x00\x01crx isom" + bytes(64)  # stands in for a RAW: never read


def noise_jpeg(seed: int) -> bytes:
    buf = io.BytesIO()
    Image.effect_noise((80, 60), 30 + seed).convert("RGB").save(buf, "JPEG", quality=85)
    return buf.getvalue()


pillow_heif.register_heif_opener()


def pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("RGB"))


@pytest.fixture
def shoot(alice_session):
    keep = make_judged_photo(alice_session, faces=OPEN, name="IMG_0001.JPG", data=noise_jpeg(1))
    blink = make_judged_photo(alice_session, faces=BLINK, name="IMG_0002.JPG", data=noise_jpeg(2))
    pair = make_judged_photo(alice_session, faces=BLINK, name="IMG_0003.CR3", data=noise_jpeg(3))
    pair.original.save("raw", ContentFile(CR3), save=False)
    pair.companion.save("jpg", ContentFile(noise_jpeg(4)), save=False)
    pair.content_type, pair.companion_content_type = "image/x-canon-cr3", "image/jpeg"
    pair.companion_filename, pair.bytes = "IMG_0003.JPG", len(CR3)
    pair.save()
    return {"keep": keep, "blink": blink, "pair": pair}


def test_embedded_zip_writes_into_jpegs_and_beside_raws(alice_session, shoot, tmp_path):
    out = tmp_path / "meta.zip"
    call_command("export_session", str(alice_session.uuid), "--format", "embedded-zip", "--out", str(out))

    with zipfile.ZipFile(out) as zf:
        assert sorted(zf.namelist()) == ["IMG_0001.JPG", "IMG_0002.JPG", "IMG_0003.CR3", "IMG_0003.JPG",
                                         "IMG_0003.xmp", README_NAME]
        files = {name: zf.read(name) for name in zf.namelist()}
    for name, photo in (("IMG_0001.JPG", shoot["keep"]), ("IMG_0002.JPG", shoot["blink"])):
        assert np.array_equal(pixels(files[name]), pixels(photo.original.open("rb").read())), name
    assert np.array_equal(pixels(files["IMG_0003.JPG"]), pixels(shoot["pair"].companion.open("rb").read()))
    assert files["IMG_0003.CR3"] == CR3  # a RAW is never written into

    blink = read_fields(read_embedded(io.BytesIO(files["IMG_0002.JPG"])))
    assert (blink["rating"], blink["label"]) == ("-1", "Red")
    assert blink["hierarchical"] == ["Eye Spy|blink", "Eye Spy|reject|blink"] and blink["subject"] == ["blink"]
    card = next(c for c in selectors.session_cards(session=alice_session) if c.photo == shoot["blink"])
    assert blink["description"] == "Eye Spy: reject: " + "; ".join(card.outcome.reasons)
    keep = read_fields(read_embedded(io.BytesIO(files["IMG_0001.JPG"])))
    assert (keep["rating"], keep["label"], keep["hierarchical"], keep["description"]) == ("0", None, [], "")
    assert read_fields(files["IMG_0003.xmp"])["hierarchical"] == blink["hierarchical"]  # the pair's RAW, same verdict
    assert read_fields(read_embedded(io.BytesIO(files["IMG_0003.JPG"])))["rating"] == "-1"

    readme = files[README_NAME].decode()
    assert "IMG_0003.CR3: a camera RAW" in readme and "3 file(s) carry the metadata inside them" in readme
    for editor in ("Lightroom Classic", "Capture One", "darktable", "Photo Mechanic", "Adobe Bridge"):
        assert editor in readme


def test_heic_copies_get_their_xmp_inside_and_a_broken_one_a_sidecar_with_the_reason(alice_session, tmp_path):
    buf = io.BytesIO()
    Image.effect_noise((80, 60), 40).convert("RGB").save(buf, "HEIF", quality=80)
    good = buf.getvalue()
    broken = good[:good.index(b"meta") + 60]  # cut inside its meta box
    photos = [make_judged_photo(alice_session, faces=BLINK, name=name, data=data)
              for name, data in (("IMG_0004.HEIC", good), ("IMG_0005.HEIC", broken))]
    for photo in photos:
        photo.content_type, photo.extension = "image/heic", ".heic"
        photo.save()
    out = tmp_path / "meta.zip"
    call_command("export_session", str(alice_session.uuid), "--format", "embedded-zip", "--out", str(out))

    with zipfile.ZipFile(out) as zf:
        files = {name: zf.read(name) for name in zf.namelist()}
    assert "IMG_0004.xmp" not in files and np.array_equal(pixels(files["IMG_0004.HEIC"]), pixels(good))
    fields = read_fields(read_embedded(io.BytesIO(files["IMG_0004.HEIC"])))
    assert (fields["rating"], fields["label"]) == ("-1", "Red") and "Eye Spy|reject|blink" in fields["hierarchical"]
    assert files["IMG_0005.HEIC"] == broken  # left alone, with a sidecar and the reason in the README
    assert read_fields(files["IMG_0005.xmp"])["rating"] == "-1"
    readme = files[README_NAME].decode()
    assert "IMG_0005.HEIC: not written into (the HEIF file's boxes are damaged)" in readme
    assert "1 file(s) carry the metadata inside them" in readme


def test_full_naming_gives_the_raw_its_darktable_sidecar(alice_session, shoot, tmp_path):
    out = tmp_path / "meta.zip"
    call_command("export_session", str(alice_session.uuid), "--format", "embedded-zip", "--out", str(out),
                 "--xmp-naming", "full")
    with zipfile.ZipFile(out) as zf:
        assert "IMG_0003.CR3.xmp" in zf.namelist() and "IMG_0003.xmp" not in zf.namelist()


def test_exports_page_offers_the_embedded_zip_and_builds_it(web, alice_session, shoot):
    page = web.get(f"/sessions/{alice_session.uuid}/exports/").content.decode()
    assert 'value="embedded-zip"' in page and 'name="keep_their_rating"' in page

    response = web.post(f"/sessions/{alice_session.uuid}/exports/", {
        "format": "embedded-zip", "rating_keeper": "0", "rating_blinking": "-1", "label_blinking": "Red",
        "xmp_naming": "basename"})
    export = Export.objects.get()
    assert response.status_code == 302 and export.status == Export.Status.DONE
    download = web.get(f"/sessions/{alice_session.uuid}/exports/{export.uuid}/download/")
    assert download.status_code == 200
    assert 'filename="smith-family-with-metadata.zip"' in download["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content))) as zf:
        assert README_NAME in zf.namelist()


def test_another_photographers_embedded_export_is_a_404(web, bob, alice_session, shoot):
    from tests.factories import make_session

    bobs = make_session(bob, title="Bob's")
    export = Export.objects.create(session=bobs, format=Export.Format.EMBEDDED_ZIP)
    assert web.get(f"/sessions/{bobs.uuid}/exports/{export.uuid}/download/").status_code == 404
