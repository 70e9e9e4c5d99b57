"""XMP merged into what the photographer already has (sidecars and files), and written into JPEG, TIFF, DNG and
HEIC copies with the pixels untouched; read back by exiftool, the way editors will read it."""
from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pillow_heif
import pytest
from PIL import Image

from review.exports.xmp_embed import MAX_APP1_PACKET, read_embedded, write_embedded
from review.exports.xmp_packet import XmpError, XmpFields, merge, read_fields
from tests.conftest import require

EXIFTOOL = shutil.which("exiftool")
REJECT = XmpFields(rating=-1, label="Red", keywords=("Eye Spy|blink", "Eye Spy|reject|blink"),
                   description="reject: both eyes closed")
KEEPER = XmpFields(rating=0, label="", keywords=(), description="")

THEIR_SIDECAR = b"""<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Adobe XMP Core 7.0">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:lr="http://ns.adobe.com/lightroom/1.0/"
    crs:Exposure2012="+0.35"
    crs:WhiteBalance="As Shot">
   <xmp:Rating>4</xmp:Rating>
   <dc:subject><rdf:Bag><rdf:li>Smith family</rdf:li><rdf:li>studio</rdf:li></rdf:Bag></dc:subject>
   <lr:hierarchicalSubject><rdf:Bag><rdf:li>Clients|Smith family</rdf:li></rdf:Bag></lr:hierarchicalSubject>
   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">Retouch the collar</rdf:li></rdf:Alt></dc:description>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>"""


def exiftool(path: Path) -> dict:
    require(EXIFTOOL is not None, "exiftool not installed (Debian: libimage-exiftool-perl)")
    out = subprocess.run([EXIFTOOL, "-j", "-struct", "-G1", "-XMP:all", str(path)], capture_output=True,
                         check=True, text=True)
    return json.loads(out.stdout)[0]


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def noise_image(fmt: str, **save) -> bytes:
    buf = io.BytesIO()
    Image.effect_noise((97, 61), 60).convert("RGB").save(buf, fmt, **save)
    return buf.getvalue()


pillow_heif.register_heif_opener()


def pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("RGB"))


def embed(data: bytes, fields: XmpFields, **merge_options) -> bytes:
    packet, _ = merge(read_embedded(io.BytesIO(data)), fields, **merge_options)
    out = io.BytesIO()
    write_embedded(io.BytesIO(data), out, packet)
    return out.getvalue()


# --- Merging into their sidecar ------------------------------------------------------------------------


@pytest.mark.parametrize("keep_their_rating, rating", [(True, 4), (False, -1)])
def test_merge_keeps_their_develop_settings_keywords_and_caption(tmp_path, keep_their_rating, rating):
    packet, changes = merge(THEIR_SIDECAR, REJECT, keep_their_rating=keep_their_rating)
    (tmp_path / "IMG_0001.xmp").write_bytes(packet)

    tags = exiftool(tmp_path / "IMG_0001.xmp")
    assert tags["XMP-crs:Exposure2012"] == "+0.35" and tags["XMP-crs:WhiteBalance"] == "As Shot"
    assert tags["XMP-xmp:Rating"] == rating and tags["XMP-xmp:Label"] == "Red"
    assert as_list(tags["XMP-dc:Subject"]) == ["Smith family", "studio", "blink"]
    assert as_list(tags["XMP-lr:HierarchicalSubject"]) == ["Clients|Smith family", "Eye Spy|blink",
                                                          "Eye Spy|reject|blink"]
    assert tags["XMP-dc:Description"] == "Retouch the collar\nEye Spy: reject: both eyes closed"
    assert ("kept their rating 4" in changes) == keep_their_rating


def test_a_second_merge_replaces_only_what_we_wrote_before():
    first, _ = merge(THEIR_SIDECAR, REJECT, keep_their_rating=False)
    # The photographer overruled us: a keeper now. Our rating was ours, so even keep_their_rating updates it.
    second, changes = merge(first, KEEPER, keep_their_rating=True)

    fields = read_fields(second)
    assert fields["rating"] == "0" and fields["label"] is None
    assert fields["subject"] == ["Smith family", "studio"]
    assert fields["hierarchical"] == ["Clients|Smith family"]
    assert fields["description"] == "Retouch the collar"
    assert b"crs:Exposure2012=\"+0.35\"" in second
    assert "rating -1 → 0" in changes and "keyword −Eye Spy|reject|blink" in changes
    assert merge(second, KEEPER, keep_their_rating=True)[1] == []  # nothing to do: the caller writes nothing


def test_a_keyword_they_had_before_us_stays_when_ours_goes():
    theirs = THEIR_SIDECAR.replace(b"<rdf:li>studio</rdf:li>", b"<rdf:li>blink</rdf:li>")
    ours, _ = merge(theirs, REJECT)
    back, _ = merge(ours, KEEPER)
    assert read_fields(back)["subject"] == ["Smith family", "blink"]


@pytest.mark.parametrize("packet, reason", [
    (b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x:xmpmeta xmlns:x="adobe:ns:meta/">&a;</x:xmpmeta>', "DTD or entities"),
    (b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF", "not well-formed"),
    (b"<html><body>not xmp</body></html>", "not x:xmpmeta"),
])
def test_a_hostile_or_broken_packet_is_refused_with_a_reason(packet, reason):
    with pytest.raises(XmpError) as err:
        merge(packet, REJECT)
    assert reason in err.value.reason


# --- Written into files --------------------------------------------------------------------------------


def _exif_with_date() -> Image.Exif:
    exif = Image.Exif()
    exif[0x0132] = "2024:05:01 10:00:00"
    return exif


@pytest.mark.parametrize("fmt, save", [
    ("JPEG", {"exif": _exif_with_date(), "quality": 90}),
    ("TIFF", {}),
    ("TIFF", {"compression": "tiff_lzw"}),
])
def test_xmp_written_into_a_copy_leaves_the_pixels_alone(tmp_path, fmt, save):
    original = noise_image(fmt, **save)
    copy = embed(original, REJECT)

    assert np.array_equal(pixels(copy), pixels(original))
    path = tmp_path / f"copy.{fmt.lower()}"
    path.write_bytes(copy)
    tags = exiftool(path)
    assert tags["XMP-xmp:Rating"] == -1 and tags["XMP-xmp:Label"] == "Red"
    assert as_list(tags["XMP-lr:HierarchicalSubject"]) == ["Eye Spy|blink", "Eye Spy|reject|blink"]
    again = embed(copy, KEEPER)  # our own packet is replaced, not stacked
    assert np.array_equal(pixels(again), pixels(original)) and again.count(b"http://ns.adobe.com/xap/1.0/\x00") <= 1
    if fmt == "JPEG":  # only the segment moved: everything from the first non-APP segment on is the same bytes
        assert copy.endswith(original[original.index(b"\xff\xdb"):])


def test_their_embedded_xmp_survives_in_a_jpeg(shared_data, tmp_path):
    sample = shared_data / "raw_samples" / "PhotoMechanic.jpg"
    require(sample.exists(), "ExifTool's PhotoMechanic.jpg sample is not in ../shared/data/raw_samples")
    before = exiftool(sample)
    path = tmp_path / "pm.jpg"
    path.write_bytes(embed(sample.read_bytes(), REJECT, keep_their_rating=True))

    after = exiftool(path)
    for tag in ("XMP-dc:Creator", "XMP-dc:Title", "XMP-dc:Rights"):
        assert after[tag] == before[tag], tag
    assert set(as_list(before["XMP-dc:Subject"])) < set(as_list(after["XMP-dc:Subject"]))
    assert after["XMP-dc:Description"].startswith(before["XMP-dc:Description"])
    assert np.array_equal(pixels(path.read_bytes()), pixels(sample.read_bytes()))


def test_a_dng_gets_its_xmp_with_its_raw_data_and_preview_untouched(tmp_path):
    import rawpy

    from tests.raw_builders import dng_bytes

    original = dng_bytes(preview=noise_image("JPEG"), sensor_size=(96, 64))
    path = tmp_path / "copy.dng"
    path.write_bytes(embed(original, REJECT))
    (tmp_path / "original.dng").write_bytes(original)

    tags = exiftool(path)
    assert tags["XMP-xmp:Rating"] == -1 and "Eye Spy|reject|blink" in as_list(tags["XMP-lr:HierarchicalSubject"])
    with rawpy.imread(str(tmp_path / "original.dng")) as before, rawpy.imread(str(path)) as after:
        assert np.array_equal(before.raw_image, after.raw_image)
        assert after.extract_thumb().data == before.extract_thumb().data


def embedded_sample(shared_data: Path, tmp_path: Path, name: str) -> tuple[Path, Path]:
    """ExifTool's sample `name` (../shared/data/raw_samples) and a copy of it with REJECT written into it."""
    sample = shared_data / "raw_samples" / name
    require(sample.exists(), f"ExifTool's {name} sample is not in ../shared/data/raw_samples")
    path = tmp_path / f"copy{sample.suffix}"
    path.write_bytes(embed(sample.read_bytes(), REJECT))
    return sample, path


def test_their_xmp_in_a_dng_is_merged_not_replaced(shared_data, tmp_path):
    sample, path = embedded_sample(shared_data, tmp_path, "DNG.dng")  # real XMP, image data stripped
    tags = exiftool(path)
    assert tags["XMP-dc:Creator"] == exiftool(sample)["XMP-dc:Creator"] and tags["XMP-xmp:Label"] == "Red"


@pytest.mark.parametrize("data, reason", [
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "truncated"),
    (b"II*\x00\xff\xff\xff\x7f", "truncated"),
    (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf", "only JPEG, TIFF, DNG and HEIC"),
])
def test_a_damaged_or_unsupported_file_is_refused_before_anything_is_written(data, reason):
    out = io.BytesIO()
    with pytest.raises(XmpError) as err:
        write_embedded(io.BytesIO(data), out, b"<x/>")
    assert reason in err.value.reason and out.getvalue() == b""


def test_a_packet_too_big_for_a_jpeg_segment_is_refused():
    with pytest.raises(XmpError, match="more than a JPEG segment holds"):
        write_embedded(io.BytesIO(noise_image("JPEG")), io.BytesIO(), b" " * (MAX_APP1_PACKET + 1))


def test_darktable_reads_the_label_and_the_keywords(tmp_path):
    darktable = shutil.which("darktable-cli")
    if darktable is None:  # optional: Debian's darktable package; exiftool checks the same fields everywhere
        pytest.skip("darktable-cli not installed (Debian: darktable)")
    src = tmp_path / "in.jpg"
    src.write_bytes(noise_image("JPEG"))
    sidecar = tmp_path / "in.jpg.xmp"  # darktable's own naming
    sidecar.write_bytes(merge(None, XmpFields(rating=-1, label="Purple", keywords=REJECT.keywords))[0])
    run = subprocess.run([darktable, str(src), str(sidecar), str(tmp_path / "out.jpg"), "--core", "--configdir",
                          str(tmp_path / "config")], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "creating tag: Eye Spy|reject|blink" in run.stdout + run.stderr  # its import read our keyword
    tags = exiftool(tmp_path / "out.jpg")
    assert as_list(tags["XMP-darktable:Colorlabels"]) == [4]  # darktable's own field, from our xmp:Label: 4 = purple


# --- HEIC ----------------------------------------------------------------------------------------------

THEIR_HEIC_XMP = THEIR_SIDECAR.replace(b'crs:WhiteBalance="As Shot">', b'crs:WhiteBalance="As Shot">'
                                       b"<dc:creator><rdf:Seq><rdf:li>Jane Doe</rdf:li></rdf:Seq></dc:creator>")


def heic(**save) -> bytes:
    """A small HEIC written by libheif (through pillow-heif)."""
    return noise_image("HEIF", quality=80, **save)


def xmp_items(data: bytes) -> int:
    """How many XMP items the file's live meta box lists (both libheif and we write them with no name)."""
    from review.exports.xmp_heif import _top  # the parser itself: no public reader counts items

    size = len(data)
    _, meta = _top(lambda offset, n: data[offset:offset + n], size)
    return meta.data.count(b"mime\x00application/rdf+xml")


@pytest.mark.parametrize("save", [{}, {"exif": _exif_with_date()}], ids=["plain", "with-exif"])
def test_xmp_written_into_a_heic_leaves_its_pixels_and_exif_alone(tmp_path, save):
    original = heic(**save)
    copy = embed(original, REJECT)

    assert np.array_equal(pixels(copy), pixels(original))
    assert copy.startswith(original[:24])  # ftyp; the old meta became a free box of the same size, nothing moved
    path = tmp_path / "copy.heic"
    path.write_bytes(copy)
    tags = exiftool(path)
    assert tags["XMP-xmp:Rating"] == -1 and tags["XMP-xmp:Label"] == "Red"
    assert as_list(tags["XMP-lr:HierarchicalSubject"]) == ["Eye Spy|blink", "Eye Spy|reject|blink"]
    assert as_list(tags["XMP-dc:Subject"]) == ["blink"]
    with Image.open(io.BytesIO(copy)) as img:
        assert img.getexif().get(0x0132) == save.get("exif", {}).get(0x0132)


def test_writing_into_a_heic_twice_replaces_its_xmp_item():
    original = heic()
    copy = embed(original, REJECT)
    again = embed(copy, KEEPER)

    assert xmp_items(copy) == xmp_items(again) == 1
    assert read_fields(read_embedded(io.BytesIO(again)))["hierarchical"] == []
    # The first write's appended meta and packet are reclaimed, not stacked: only the packet's size differs.
    packets = [read_embedded(io.BytesIO(d)) for d in (copy, again)]
    assert len(again) - len(copy) == len(packets[1]) - len(packets[0])
    assert np.array_equal(pixels(again), pixels(original))


def test_their_xmp_in_a_heic_is_merged_not_replaced(tmp_path):
    original = heic(xmp=THEIR_HEIC_XMP)
    path = tmp_path / "copy.heic"
    path.write_bytes(embed(original, REJECT, keep_their_rating=True))

    tags = exiftool(path)
    assert as_list(tags["XMP-dc:Creator"]) == ["Jane Doe"] and tags["XMP-crs:Exposure2012"] == "+0.35"
    assert tags["XMP-xmp:Rating"] == 4 and tags["XMP-xmp:Label"] == "Red"
    assert as_list(tags["XMP-dc:Subject"]) == ["Smith family", "studio", "blink"]
    assert xmp_items(path.read_bytes()) == 1  # theirs was pointed at the new packet, not joined by a second
    assert np.array_equal(pixels(path.read_bytes()), pixels(original))


def _box(kind: bytes, payload: bytes) -> bytes:
    return (8 + len(payload)).to_bytes(4, "big") + kind + payload


def heic_with_xmp_in_idat(xmp: bytes) -> bytes:
    """A HEIC as other writers may make it: item locations version 1, the XMP item's bytes inside the meta box
    (construction method 1, an idat box); the image item's offsets shifted by what the meta grew."""
    data = heic()
    meta_at = int.from_bytes(data[:4], "big")
    meta_end = meta_at + int.from_bytes(data[meta_at:meta_at + 4], "big")
    children, pos = {}, meta_at + 12
    while pos < meta_end:
        size = int.from_bytes(data[pos:pos + 4], "big")
        children[data[pos + 4:pos + 8]] = data[pos + 8:pos + size]
        pos += size
    iloc, iinf = children[b"iloc"], children[b"iinf"]
    assert iloc[:6] == b"\x00\x00\x00\x00\x44\x40" and b"iref" not in children  # libheif's: version 0, 4-byte fields
    count = int.from_bytes(iloc[6:8], "big")
    entries = [iloc[8 + 18 * i:8 + 18 * (i + 1)] for i in range(count)]  # id, reference, base, 1 extent
    item = count + 1
    xmp_item = (item.to_bytes(2, "big") + b"\x00\x01" + bytes(6) + b"\x00\x01" + bytes(4)
                + len(xmp).to_bytes(4, "big"))
    children[b"iinf"] = iinf[:4] + (int.from_bytes(iinf[4:6], "big") + 1).to_bytes(2, "big") + iinf[6:] + _box(
        b"infe", b"\x02\x00\x00\x01" + item.to_bytes(2, "big") + b"\x00\x00mime\x00application/rdf+xml\x00")
    children[b"iref"] = bytes(4) + _box(b"cdsc", item.to_bytes(2, "big") + b"\x00\x01" + children[b"pitm"][4:6])
    children[b"idat"] = xmp

    def meta(shift: int) -> bytes:
        shifted = [e[:2] + b"\x00\x00" + e[2:10] + (int.from_bytes(e[10:14], "big") + shift).to_bytes(4, "big")
                   + e[14:] for e in entries]
        children[b"iloc"] = b"\x01\x00\x00\x00\x44\x40" + item.to_bytes(2, "big") + b"".join(shifted) + xmp_item
        return _box(b"meta", bytes(4) + b"".join(_box(k, v) for k, v in children.items()))

    grown = len(meta(0)) - (meta_end - meta_at)
    return data[:meta_at] + meta(grown) + data[meta_end:]


def test_their_xmp_in_an_idat_box_is_read_and_replaced(tmp_path):
    original = heic_with_xmp_in_idat(THEIR_HEIC_XMP)
    assert read_embedded(io.BytesIO(original)) == THEIR_HEIC_XMP
    path = tmp_path / "copy.heic"
    path.write_bytes(embed(original, REJECT))

    tags = exiftool(path)
    assert as_list(tags["XMP-dc:Creator"]) == ["Jane Doe"] and tags["XMP-xmp:Label"] == "Red"
    assert xmp_items(path.read_bytes()) == 1
    assert np.array_equal(pixels(path.read_bytes()), pixels(original))


def test_exiftools_heic_sample_gets_its_xmp(shared_data, tmp_path):
    _, path = embedded_sample(shared_data, tmp_path, "QuickTime.heic")  # two items, image data stripped
    tags = exiftool(path)
    assert tags["XMP-xmp:Rating"] == -1 and tags["XMP-xmp:Label"] == "Red"
    out = subprocess.run([EXIFTOOL, "-j", "-ImageSize", "-Warning", str(path)], capture_output=True, text=True)
    assert json.loads(out.stdout)[0] == {"SourceFile": str(path), "ImageSize": "1596x1064"}


def _damaged_heics() -> list[tuple[bytes, str]]:
    good = heic(xmp=THEIR_HEIC_XMP)
    meta_at = good.index(b"meta") - 4
    iloc = good.index(b"iloc")
    outside = bytearray(good)
    # the XMP item's extent (the last iloc entry: offset, length) now points far past the end
    entries_end = iloc - 4 + int.from_bytes(good[iloc - 4:iloc], "big")
    outside[entries_end - 8:entries_end - 4] = (10**9).to_bytes(4, "big")
    return [
        (good[:meta_at + 100], "damaged"),  # cut inside the meta box
        (good[:meta_at] + b"\xff\xff\xff\xf0meta" + good[meta_at + 8:], "damaged"),  # a meta bigger than the file
        (good[:meta_at] + good[meta_at + int.from_bytes(good[meta_at:meta_at + 4], "big"):], "no single meta"),
        (bytes(outside), "points outside"),
    ]


@pytest.mark.parametrize("data, reason", _damaged_heics(), ids=["cut", "oversized-box", "no-meta", "outside"])
def test_a_damaged_heic_is_refused_with_a_reason(data, reason):
    with pytest.raises(XmpError) as err:
        read_embedded(io.BytesIO(data))
    assert reason in err.value.reason
    out = io.BytesIO()
    with pytest.raises(XmpError):
        write_embedded(io.BytesIO(data), out, b"<x/>")
    assert out.getvalue() == b""
