"""ml.imaging: reduced JPEG decode, EXIF orientation, formats, refusals with readable reasons, derivatives.

Every image is made here with Pillow (small, or large but cheap to encode), so the file runs in a few seconds.
"""
from __future__ import annotations

import io
import struct
import zlib
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from PIL import ExifTags, Image, JpegImagePlugin

from ml.imaging import (
    DecodedImage,
    ImageError,
    decode,
    describe_content,
    image_header_info,
    make_derivatives,
    parse_exif_datetime,
    sniff_format,
)

RED, BLUE = (220, 20, 20), (20, 20, 220)


def _encode(im: Image.Image, fmt: str = "JPEG", **params) -> bytes:
    out = io.BytesIO()
    im.save(out, fmt, **params)
    return out.getvalue()


def _exif(orientation: int | None = None, original: str | None = None, plain: str | None = None, **sub) -> Image.Exif:
    exif = Image.Exif()
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    if plain is not None:
        exif[ExifTags.Base.DateTime] = plain
    ifd = exif.get_ifd(ExifTags.IFD.Exif)
    if original is not None:
        ifd[ExifTags.Base.DateTimeOriginal] = original
    for name, value in sub.items():
        ifd[getattr(ExifTags.Base, name)] = value
    return exif


def _marked(size=(60, 40)) -> Image.Image:
    """Blue frame with a red top-left quadrant, so rotations are visible."""
    im = Image.new("RGB", size, BLUE)
    im.paste(RED, (0, 0, size[0] // 2, size[1] // 2))
    return im


def _noisy(size: tuple[int, int], seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    w, h = size
    base = np.linspace(40, 200, w, dtype=np.float32)[None, :, None].repeat(h, 0).repeat(3, 2)
    return Image.fromarray(np.clip(base + rng.normal(0, 25, (h, w, 3)), 0, 255).astype(np.uint8))


def _is_close(pixel, colour, tol=40) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(pixel, colour))


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that *claims* width x height (no real pixel data: nothing large is ever allocated)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + _png_chunk(b"IEND", b"")


def _jpeg_claiming(width: int, height: int) -> bytes:
    """Real JPEG markers up to a SOF0 frame header that claims width x height."""
    small = _encode(Image.new("RGB", (8, 8), RED), quality=90)
    sof = small.index(b"\xff\xc0")
    patched = bytearray(small)
    patched[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(patched)


# ---------------------------------------------------------------------------------------------
# Orientation and reduced decode
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("orientation", "size", "red_corner"),
    [
        (1, (60, 40), "top_left"),
        (6, (40, 60), "top_right"),  # stored sideways, camera turned clockwise: rotate 90 CW to view
        (8, (40, 60), "bottom_left"),
        (3, (60, 40), "bottom_right"),
    ],
)
def test_exif_orientation_gives_upright_image_and_size(orientation, size, red_corner):
    data = _encode(_marked(), quality=95, exif=_exif(orientation))

    decoded = decode(data)

    assert decoded.image.size == size
    assert (decoded.original_width, decoded.original_height) == size
    w, h = size
    corners = {"top_left": (2, 2), "top_right": (w - 3, 2), "bottom_left": (2, h - 3), "bottom_right": (w - 3, h - 3)}
    assert _is_close(decoded.image.getpixel(corners[red_corner]), RED)
    for name, xy in corners.items():
        if name != red_corner:
            assert _is_close(decoded.image.getpixel(xy), BLUE), name


def test_large_jpeg_uses_dct_draft_before_transpose(monkeypatch):
    """A 4000x3000 frame with orientation 6 is decoded at 1/4 and only the small image is rotated."""
    data = _encode(_marked((4000, 3000)), quality=90, exif=_exif(6))
    drafts, transposed = [], []
    real_draft, real_transpose = JpegImagePlugin.JpegImageFile.draft, Image.Image.transpose

    def spy_draft(self, mode, size):
        drafts.append((mode, size, self.size))
        return real_draft(self, mode, size)

    def spy_transpose(self, method):
        transposed.append(self.size)
        return real_transpose(self, method)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy_draft)
    monkeypatch.setattr(Image.Image, "transpose", spy_transpose)

    decoded = decode(data, max_side=1000)

    assert drafts == [("RGB", (1000, 750), (4000, 3000))]
    assert transposed == [(1000, 750)]  # never the 12 MP original
    assert decoded.image.size == (750, 1000)
    assert (decoded.original_width, decoded.original_height) == (3000, 4000)
    assert decoded.scale == pytest.approx(0.25)


def test_max_side_between_dct_scales_decodes_larger_then_shrinks():
    data = _encode(_marked((4000, 3000)), quality=90)

    decoded = decode(data, max_side=1600)  # 1/2 gives 2000 >= 1600, 1/4 would give 1000 < 1600

    assert decoded.image.size == (1600, 1200)
    assert decoded.scale == pytest.approx(0.4)
    assert _is_close(decoded.image.getpixel((10, 10)), RED)


def test_small_image_is_not_upscaled():
    decoded = decode(_encode(_marked((300, 200))), max_side=2000)

    assert decoded.image.size == (300, 200)
    assert decoded.scale == 1.0


# ---------------------------------------------------------------------------------------------
# Formats and colour modes
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "params"),
    [("PNG", {}), ("WEBP", {"quality": 95}), ("WEBP", {"lossless": True}), ("TIFF", {}), ("TIFF", {"compression": "tiff_lzw"})],
)
def test_other_formats_decode_to_rgb(fmt, params):
    data = _encode(_marked((300, 200)), fmt, **params)

    decoded = decode(data, max_side=150)

    assert decoded.format == fmt
    assert decoded.image.mode == "RGB"
    assert decoded.image.size == (150, 100)
    assert (decoded.original_width, decoded.original_height) == (300, 200)
    assert _is_close(decoded.image.getpixel((5, 5)), RED)
    assert _is_close(decoded.image.getpixel((140, 90)), BLUE)
    assert image_header_info(data) == (fmt, 300, 200)


def test_webp_exif_orientation_and_date():
    data = _encode(_marked(), "WEBP", quality=95, exif=_exif(8, original="2023:05:06 07:08:09"))

    decoded = decode(data)

    assert decoded.image.size == (40, 60)
    assert _is_close(decoded.image.getpixel((2, 57)), RED)
    assert decoded.taken_at == datetime(2023, 5, 6, 7, 8, 9)


def test_heic_decodes():
    pillow_heif = pytest.importorskip("pillow_heif")
    if not pillow_heif.libheif_info().get("encoders", {}).get("x265"):
        pytest.skip("this pillow-heif build has no HEVC encoder to make a test HEIC")
    pillow_heif.register_heif_opener()
    data = _encode(_marked((64, 48)), "HEIF", quality=90, exif=_exif(original="2022:12:24 18:00:00"))

    decoded = decode(data)

    assert sniff_format(data[:64]) == "HEIF"
    assert decoded.format == "HEIF"
    assert decoded.image.mode == "RGB"
    assert decoded.image.size == (64, 48)
    assert _is_close(decoded.image.getpixel((4, 4)), RED, tol=60)
    assert decoded.taken_at == datetime(2022, 12, 24, 18, 0, 0)


def test_cmyk_jpeg_becomes_rgb():
    data = _encode(Image.new("CMYK", (32, 32), (0, 255, 255, 0)), quality=95)  # pure red in CMYK

    decoded = decode(data)

    assert decoded.image.mode == "RGB"
    assert _is_close(decoded.image.getpixel((16, 16)), (255, 0, 0))


def test_grayscale_jpeg_becomes_rgb():
    decoded = decode(_encode(Image.new("L", (32, 32), 77), quality=95))

    assert decoded.image.mode == "RGB"
    assert _is_close(decoded.image.getpixel((5, 5)), (77, 77, 77), tol=3)


def test_16bit_png_is_scaled_not_clipped():
    levels = np.array([[0, 16384, 32768, 65535]], dtype=np.uint16).repeat(4, axis=0)
    data = _encode(Image.fromarray(levels), "PNG")
    assert Image.open(io.BytesIO(data)).mode == "I;16"

    decoded = decode(data)

    row = [decoded.image.getpixel((x, 0)) for x in range(4)]
    assert row == [(0, 0, 0), (64, 64, 64), (128, 128, 128), (255, 255, 255)]


def test_palette_png_with_transparency_is_flattened_on_white():
    pal = Image.new("P", (20, 10), 1)
    pal.putpalette([0, 0, 0] + [200, 0, 0] + [0] * 762)
    pal.paste(0, (0, 0, 10, 10))  # left half uses index 0, declared transparent
    data = _encode(pal, "PNG", transparency=0)

    decoded = decode(data)

    assert decoded.image.mode == "RGB"
    assert decoded.image.getpixel((2, 2)) == (255, 255, 255)
    assert decoded.image.getpixel((15, 5)) == (200, 0, 0)


def test_la_png_becomes_rgb():
    la = Image.new("LA", (10, 10), (90, 255))
    decoded = decode(_encode(la, "PNG"))

    assert decoded.image.getpixel((3, 3)) == (90, 90, 90)


def test_animated_png_gives_first_frame():
    frames = [Image.new("RGB", (20, 20), RED), Image.new("RGB", (20, 20), BLUE)]
    data = _encode(frames[0], "PNG", save_all=True, append_images=frames[1:])

    decoded = decode(data)

    assert decoded.image.getpixel((10, 10)) == RED


def test_multi_page_tiff_gives_first_page():
    data = _encode(Image.new("RGB", (20, 20), BLUE), "TIFF", save_all=True, append_images=[Image.new("RGB", (30, 30), RED)])

    decoded = decode(data)

    assert decoded.image.size == (20, 20)
    assert decoded.image.getpixel((10, 10)) == BLUE


# ---------------------------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------------------------


def test_path_file_object_and_bytes_give_the_same_result(tmp_path):
    data = _encode(_marked((120, 80)), quality=92, exif=_exif(6))
    path = tmp_path / "photo.bin"  # the extension is irrelevant: content decides
    path.write_bytes(data)

    class Stream:  # not seekable, like a network stream
        def __init__(self, payload):
            self._buf = io.BytesIO(payload)

        def read(self, n=-1):
            return self._buf.read(n)

    shifted = io.BytesIO(b"junk" + data)
    shifted.seek(4)
    with open(path, "rb") as fh:
        results = [decode(data), decode(path), decode(str(path)), decode(fh), decode(Stream(data)), decode(shifted)]

    for result in results:
        assert isinstance(result, DecodedImage)
        assert result.image.size == (80, 120)
        assert result.image.tobytes() == results[0].image.tobytes()


def test_missing_path_raises_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        decode(tmp_path / "nope.jpg")


# ---------------------------------------------------------------------------------------------
# Refusals
# ---------------------------------------------------------------------------------------------


def _reason(source, **kwargs) -> str:
    with pytest.raises(ImageError) as info:
        decode(source, **kwargs)
    assert isinstance(info.value, ValueError)
    assert str(info.value) == info.value.reason
    return info.value.reason


def test_empty_file(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")

    assert _reason(path) == "empty file"
    assert _reason(b"") == "empty file"


def test_renamed_pdf_is_refused_by_content(tmp_path):
    path = tmp_path / "IMG_0001.JPG"
    path.write_bytes(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + b"\x00" * 100)

    assert _reason(path) == "not an image (looks like a PDF)"


@pytest.mark.parametrize(
    ("payload", "looks_like"),
    [
        (b"PK\x03\x04\x14\x00\x00\x00" + b"\x00" * 40, "a ZIP archive"),
        (b"<!DOCTYPE html>\n<html><body>Bad Gateway</body></html>", "an HTML page"),
        (b"hello, this is just some text\n" * 4, "a text file"),
        (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 32, "a video (MP4/MOV)"),
        (bytes(np.random.default_rng(7).integers(0, 256, 3000, dtype=np.uint8)), "unrecognised data"),
    ],
)
def test_non_images_say_what_they_look_like(payload, looks_like):
    assert _reason(payload).startswith(f"not an image (looks like {looks_like}")


def test_unsupported_image_type_is_named():
    gif = _encode(Image.new("P", (8, 8)), "GIF")

    assert _reason(gif) == "unsupported image type: GIF (use JPEG, PNG, TIFF, WebP, HEIC or camera RAW)"


def test_tiff_with_a_reduced_ifd0_is_taken_for_a_raw_and_refused_when_libraw_cannot_read_it():
    raw_like = _encode(Image.new("RGB", (16, 12)), "TIFF", tiffinfo={254: 1})  # IFD0 = reduced-resolution preview

    assert _reason(raw_like).startswith("this camera RAW file can't be read")


@pytest.mark.parametrize("fraction", [0.5, 0.99])
def test_truncated_jpeg(fraction):
    data = _encode(_noisy((800, 600)), quality=90)

    assert _reason(data[: int(len(data) * fraction)]).startswith("file is truncated")


def test_jpeg_with_header_only_is_truncated():
    data = _encode(_noisy((64, 64)), quality=90)

    assert _reason(data[: data.index(b"\xff\xda") + 20]).startswith("file is truncated")


def test_jpeg_cut_short_with_end_marker_is_truncated():
    """Cut in the middle and closed with EOI: libjpeg fills the rest with grey; that must not pass."""
    data = _encode(_noisy((1800, 1200)), quality=85)
    cut = data[: len(data) // 2] + b"\xff\xd9"

    assert _reason(cut, max_side=900).startswith("file is truncated")


def test_flat_grey_jpeg_is_not_mistaken_for_truncated():
    data = _encode(Image.new("RGB", (1800, 1200), (128, 128, 128)), quality=85)

    assert decode(data, max_side=900).image.size == (900, 600)


def test_corrupt_jpeg_data():
    """Garbage with marker bytes in the entropy-coded data. (Plain bit flips cannot be detected:
    JPEG has no checksum, they decode to wrong pixels like they would in any viewer.)"""
    data = bytearray(_encode(_noisy((400, 300)), quality=90))
    middle = len(data) // 2
    data[middle : middle + 2048] = bytes(range(256)) * 8

    assert _reason(bytes(data)) == "corrupt JPEG file (broken data stream)"


def test_garbage_after_a_jpeg_signature():
    assert _reason(b"\xff\xd8\xff" + b"\x13\x37" * 50).startswith(("corrupt JPEG file", "file is truncated"))


def test_decompression_bomb_refused_from_png_header(monkeypatch):
    bomb = _png_header_only(100_000, 100_000)
    loaded = []
    real_load = Image.Image.load
    monkeypatch.setattr(Image.Image, "load", lambda self, *a, **k: loaded.append(self.size) or real_load(self, *a, **k))

    reason = _reason(bomb)

    assert reason == "image too large: 10000 MP (limit 150 MP)"
    assert loaded == []  # refused from the header: no pixel was decoded
    assert image_header_info(bomb) == ("PNG", 100_000, 100_000)


def test_decompression_bomb_refused_from_jpeg_header():
    bomb = _jpeg_claiming(60_000, 60_000)

    assert _reason(bomb) == "image too large: 3600 MP (limit 150 MP)"
    assert image_header_info(bomb) == ("JPEG", 60_000, 60_000)


def test_max_pixels_argument_is_honoured():
    data = _encode(_marked((300, 200)), "PNG")

    assert _reason(data, max_pixels=50_000) == "image too large: 0 MP (limit 0 MP)"
    assert decode(data, max_pixels=60_000).image.size == (300, 200)


def test_pillow_bomb_warning_is_an_error_too():
    """Even with our own limit lifted, Pillow's DecompressionBombWarning becomes the ImageError."""
    bomb = _png_header_only(20_000, 10_000)  # 200 MP: above Pillow's limit, below 2x of it

    assert _reason(bomb, max_pixels=10**12).startswith("image too large: 200 MP")


# ---------------------------------------------------------------------------------------------
# Sniffing and header info
# ---------------------------------------------------------------------------------------------


def test_sniff_format():
    assert sniff_format(_encode(_marked())[:32]) == "JPEG"
    assert sniff_format(_encode(_marked(), "PNG")[:32]) == "PNG"
    assert sniff_format(_encode(_marked(), "WEBP")[:32]) == "WEBP"
    assert sniff_format(_encode(_marked(), "TIFF")[:32]) == "TIFF"
    assert sniff_format(b"\x00\x00\x00\x1cftypheic\x00\x00\x00\x00mif1heicmiaf") == "HEIF"
    assert sniff_format(b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf") is None
    assert sniff_format(b"%PDF-1.4") is None
    assert sniff_format(b"") is None
    assert describe_content(b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf") == "an AVIF image"


def test_header_info_reads_only_the_header():
    data = _encode(_noisy((640, 480)), quality=90, exif=_exif(6))

    assert image_header_info(data[:2000]) == ("JPEG", 640, 480)  # stored size, before orientation
    assert image_header_info(io.BytesIO(data)).pixels == 640 * 480
    with pytest.raises(ImageError, match="looks like a PDF"):
        image_header_info(b"%PDF-1.5 ...")


# ---------------------------------------------------------------------------------------------
# Capture time
# ---------------------------------------------------------------------------------------------


def test_taken_at_prefers_datetime_original():
    data = _encode(_marked(), exif=_exif(original="2024:06:01 10:11:12", plain="2024:07:01 00:00:00"))

    assert decode(data).taken_at == datetime(2024, 6, 1, 10, 11, 12)


def test_taken_at_falls_back_to_datetime():
    data = _encode(_marked(), exif=_exif(plain="2021:02:03 04:05:06"))

    assert decode(data).taken_at == datetime(2021, 2, 3, 4, 5, 6)


def test_taken_at_with_subseconds_and_offset():
    data = _encode(_marked(), exif=_exif(original="2024:06:01 10:11:12", SubsecTimeOriginal="25", OffsetTimeOriginal="+02:00"))

    taken = decode(data).taken_at

    assert taken == datetime(2024, 6, 1, 10, 11, 12, 250000, tzinfo=timezone(timedelta(hours=2)))


def test_garbage_dates_give_none_and_do_not_fail():
    data = _encode(_marked(), exif=_exif(original="not a date", plain="0000:00:00 00:00:00"))

    decoded = decode(data)

    assert decoded.taken_at is None
    assert decoded.image.size == (60, 40)
    assert decode(_encode(_marked())).taken_at is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2020:01:02 03:04:05", datetime(2020, 1, 2, 3, 4, 5)),
        (b"2020:01:02 03:04:05\x00", datetime(2020, 1, 2, 3, 4, 5)),
        ("2020-01-02T03:04:05", datetime(2020, 1, 2, 3, 4, 5)),
        ("2020:13:02 03:04:05", None),
        ("    :  :     :  :  ", None),
        ("", None),
        (None, None),
        (12345, None),
    ],
)
def test_parse_exif_datetime(value, expected):
    assert parse_exif_datetime(value) == expected


# ---------------------------------------------------------------------------------------------
# Derivatives
# ---------------------------------------------------------------------------------------------


def test_derivatives_sizes_and_orientation():
    decoded = decode(_encode(_marked((4000, 3000)), quality=90, exif=_exif(6)), max_side=2000)

    thumb, preview = make_derivatives(decoded)

    with Image.open(io.BytesIO(thumb)) as t, Image.open(io.BytesIO(preview)) as p:
        assert (t.format, t.size) == ("JPEG", (300, 400))
        assert (p.format, p.size) == ("JPEG", (1200, 1600))
        assert _is_close(t.convert("RGB").getpixel((290, 10)), RED)  # upright: red corner top right
        assert _is_close(p.convert("RGB").getpixel((1190, 10)), RED)


def test_preview_is_not_upscaled():
    decoded = decode(_encode(_marked((1500, 1000)), quality=90))

    thumb, preview = make_derivatives(decoded, thumb_side=400, preview_side=1600)

    assert Image.open(io.BytesIO(preview)).size == (1500, 1000)
    assert Image.open(io.BytesIO(thumb)).size == (400, 267)


def test_decoded_image_carries_no_orientation_to_apply_twice():
    from PIL import ImageOps

    decoded = decode(_encode(_marked(), quality=95, exif=_exif(6)))

    assert decoded.image.getexif().get(ExifTags.Base.Orientation) is None
    assert ImageOps.exif_transpose(decoded.image).size == decoded.image.size == (40, 60)
    assert not hasattr(decoded.image, "fp")  # a plain image, not the open file (which pins the source bytes)


def test_colour_profile_is_kept_in_derivatives():
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    decoded = decode(_encode(_marked((800, 600)), quality=90, icc_profile=icc))

    thumb, preview = make_derivatives(decoded, thumb_side=100, preview_side=400)

    assert Image.open(io.BytesIO(thumb)).info.get("icc_profile") == icc
    assert Image.open(io.BytesIO(preview)).info.get("icc_profile") == icc
