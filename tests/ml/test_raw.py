"""Camera RAW in ml.imaging: recognised by content, decoded from the embedded preview, else half-size."""
from __future__ import annotations

import io
from pathlib import Path

import pytest

from ml.imaging import ImageError, decode, image_header_info, preview_long_side, raw_full_image
from tests.raw_builders import dng_bytes, preview_jpeg

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "raw"

# ExifTool's stripped containers: what each one is, and what decoding it gives (their pixel data is cut away).
KINDS = {
    "CanonRaw.cr3": "CR3", "CanonRaw.crw": "CRW", "DNG.dng": "DNG", "FujiFilm.raf": "RAF", "Nikon.nef": "NEF",
    "Panasonic.rw2": "RW2", "Minolta.mrw": "MRW", "PhaseOne.iiq": "IIQ", "Sigma.x3f": "X3F",
}


@pytest.mark.parametrize(("name", "kind"), sorted(KINDS.items()))
def test_every_fixture_is_recognised_by_content_with_its_size(name, kind):
    header = image_header_info(FIXTURES / name)

    assert (header.format, header.kind) == ("RAW", kind)
    assert header.width > 1000 and header.height > 1000  # the sensor size from the RAW's own headers


@pytest.mark.parametrize(("name", "kind"), sorted(KINDS.items()))
def test_the_kind_is_known_from_the_first_bytes_alone_without_libraw(name, kind):
    # What a direct upload's check reads of a stored object: the start, never the whole RAW.
    import io

    head = (FIXTURES / name).read_bytes()[:64 * 1024]
    header = image_header_info(io.BytesIO(head), open_raw=False)

    assert (header.format, header.kind, header.width, header.height) == ("RAW", kind, 0, 0)


@pytest.mark.parametrize("name", sorted(KINDS))
def test_stripped_fixtures_decode_half_size_or_fail_with_a_readable_reason(name):
    try:
        decoded = decode(FIXTURES / name)
    except ImageError as exc:
        assert exc.reason.startswith(("the RAW file is damaged: ", "the RAW file is too large")), exc.reason
        assert "Traceback" not in exc.reason and "b'" not in exc.reason
    else:
        assert decoded.format == "RAW"
        assert "half-size decode" in decoded.source  # their previews are absent or a few pixels
        assert max(decoded.image.size) <= 1600


def test_a_cr2_libraw_cannot_read_is_refused_at_the_header_with_its_kind():
    with pytest.raises(ImageError, match=r"^this camera RAW file can't be read \(a Canon CR2 RAW file"):
        image_header_info(FIXTURES / "CanonRaw.cr2")


def test_dng_is_analysed_from_its_full_size_preview():
    decoded = decode(dng_bytes(preview_size=(6000, 4000)))

    assert decoded.format == "RAW"
    assert decoded.source == "DNG RAW, embedded JPEG preview 6000x4000"
    assert (decoded.original_width, decoded.original_height) == (6000, 4000)
    assert decoded.image.size == (1500, 1000)  # the JPEG's 1/4 DCT decode, as for any JPEG
    assert decoded.scale == pytest.approx(0.25)


@pytest.mark.parametrize(("orientation", "red_corner"), [(1, (0, 0)), (6, (1, 0)), (8, (0, 1)), (3, (1, 1))])
def test_the_raws_orientation_turns_the_preview_upright(orientation, red_corner):
    decoded = decode(dng_bytes(preview_size=(1800, 1200), orientation=orientation))
    image = decoded.image
    portrait = orientation in (6, 8)

    assert (image.width < image.height) == portrait
    assert (decoded.original_width, decoded.original_height) == ((1200, 1800) if portrait else (1800, 1200))
    # The preview's red block is in its top-left corner as stored; upright, it is where the rotation put it.
    x = int(image.width * (0.1 if red_corner[0] == 0 else 0.9))
    y = int(image.height * (0.1 if red_corner[1] == 0 else 0.9))
    r, g, b = image.getpixel((x, y))
    assert r > 150 and g < 90 and b < 90, (orientation, image.getpixel((x, y)))


def test_a_preview_below_1200_px_means_a_half_size_decode_and_says_why():
    decoded = decode(dng_bytes(preview_size=(900, 600), sensor_size=(96, 64)))

    assert decoded.source == "DNG RAW, half-size decode (the embedded preview is only 900 px)"
    assert decoded.image.size == (48, 32)  # half the sensor


def test_a_damaged_preview_falls_back_to_the_sensor_data():
    good = preview_jpeg(1800, 1200)
    broken = good[:600] + b"\x00" * (len(good) - 600)

    decoded = decode(dng_bytes(preview=broken))

    assert decoded.source.startswith("DNG RAW, half-size decode (the embedded preview is unreadable")


def test_a_truncated_raw_fails_with_a_readable_reason():
    data = dng_bytes(preview_size=(1800, 1200))

    with pytest.raises(ImageError) as caught:
        decode(data[:1100])  # the directories survive, the preview and the sensor data do not
    assert caught.value.reason.startswith("the RAW file is damaged: ")


def test_preview_long_side_and_full_image_for_pairs_and_zooms():
    data = dng_bytes(preview_size=(1800, 1200), orientation=6)

    assert preview_long_side(data) == 1800
    assert raw_full_image(data, max_pixels=10**8).size == (1200, 1800)  # full resolution, upright
    assert preview_long_side(dng_bytes(preview=None, preview_size=(300, 200))) == 300


def test_a_bomb_raw_is_refused_from_its_headers():
    with pytest.raises(ImageError, match="image too large"):
        decode(FIXTURES / "PhaseOne.iiq", max_pixels=10_000_000)  # a 40 MP sensor


class _CountingReader(io.BytesIO):
    """A file that counts the bytes read from it, to prove the sensor data is never touched."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, n: int = -1) -> bytes:
        chunk = super().read(n)
        self.bytes_read += len(chunk)
        return chunk


def test_a_tiff_raws_preview_is_found_from_its_directories_and_only_its_bytes_are_read():
    preview = preview_jpeg(1800, 1200)
    data = dng_bytes(preview=preview, sensor_size=(3000, 2000))  # 12 MB of sensor data after the preview
    source = _CountingReader(data)

    decoded = decode(source)

    assert decoded.source == "DNG RAW, embedded JPEG preview 1800x1200"
    assert source.bytes_read < len(preview) + 200_000 < len(data) // 10
    # The same pixels as LibRaw's way to the same preview.
    from ml.imaging.raw import _decode_with_libraw

    by_libraw = _decode_with_libraw(data, kind="DNG", max_side=1600, max_pixels=10**8)
    assert by_libraw.source == decoded.source and by_libraw.image.tobytes() == decoded.image.tobytes()


def test_only_a_baseline_or_progressive_jpeg_counts_as_a_preview():
    from ml.imaging.raw_preview import _jpeg_size

    baseline = preview_jpeg(64, 48)
    lossless = baseline.replace(b"\xff\xc0", b"\xff\xc3", 1)  # a CR2's raw data or a compressed DNG tile

    assert _jpeg_size(baseline) == (64, 48)
    assert _jpeg_size(lossless) is None
    assert _jpeg_size(b"\xff\xd8\xff\xda" + baseline[4:]) is None  # image data before any frame header


def test_hostile_directories_are_left_to_libraw_without_a_crash():
    from ml.imaging.raw_preview import tiff_preview

    data = bytearray(dng_bytes(preview_size=(1800, 1200)))
    data[4:8] = (len(data) + 10).to_bytes(4, "little")  # IFD0 past the end
    assert tiff_preview(io.BytesIO(bytes(data)), len(data)) is None
    loop = bytearray(dng_bytes(preview_size=(1800, 1200)))
    assert tiff_preview(io.BytesIO(bytes(loop[:40])), 40) is None  # cut inside IFD0
