"""inspect_upload: the type comes from the content, the size from the header, never from pixels."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from sessions_app.services import ImageInfo, UnreadableImage, inspect_upload
from tests.factories import jpeg_bytes, pdf_bytes, png_bomb_bytes, truncated_jpeg_bytes


def _encoded(fmt: str, size=(30, 20)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (10, 200, 30)).save(buf, fmt)
    return buf.getvalue()


@pytest.mark.parametrize(
    "fmt, expected",
    [
        ("JPEG", ImageInfo("JPEG", ".jpg", "image/jpeg", 30, 20)),
        ("PNG", ImageInfo("PNG", ".png", "image/png", 30, 20)),
        ("TIFF", ImageInfo("TIFF", ".tif", "image/tiff", 30, 20)),
        ("WEBP", ImageInfo("WEBP", ".webp", "image/webp", 30, 20)),
    ],
)
def test_recognises_each_supported_format_by_content(fmt, expected):
    assert inspect_upload(io.BytesIO(_encoded(fmt))) == expected


def test_the_file_is_left_at_its_start_for_the_caller():
    fh = io.BytesIO(jpeg_bytes())
    fh.seek(7)
    inspect_upload(fh)
    assert fh.tell() == 0


def test_empty_file_is_refused():
    with pytest.raises(UnreadableImage) as err:
        inspect_upload(io.BytesIO(b""))
    assert err.value.reason == "empty file"


def test_renamed_pdf_is_refused_as_not_an_image():
    with pytest.raises(UnreadableImage) as err:
        inspect_upload(io.BytesIO(pdf_bytes()))
    assert err.value.reason.startswith("not an image")
    assert "PDF" in err.value.reason


def test_text_file_says_what_it_looks_like():
    with pytest.raises(UnreadableImage) as err:
        inspect_upload(io.BytesIO(b"<html><body>not a photo</body></html>"))
    assert "HTML" in err.value.reason


def test_decompression_bomb_is_refused_from_the_header(settings):
    settings.EYESPY_MAX_PIXELS = 150_000_000
    bomb = png_bomb_bytes(20_000, 20_000)
    assert len(bomb) < 10_000  # tiny file, 400 MP claimed
    with pytest.raises(UnreadableImage) as err:
        inspect_upload(io.BytesIO(bomb))
    assert err.value.reason == "image too large (400 megapixels; limit 150)"


def test_pixel_limit_can_be_given_per_call():
    with pytest.raises(UnreadableImage) as err:
        inspect_upload(io.BytesIO(jpeg_bytes(size=(800, 600))), max_pixels=400_000)
    assert err.value.reason == "image too large (0.5 megapixels; limit 0.4)"
    assert inspect_upload(io.BytesIO(jpeg_bytes(size=(800, 600))), max_pixels=480_000).width == 800


def test_truncated_body_passes_header_check_and_is_left_to_the_worker():
    info = inspect_upload(io.BytesIO(truncated_jpeg_bytes((640, 480))))
    assert (info.format, info.width, info.height) == ("JPEG", 640, 480)


def test_unreadable_image_is_a_value_error_with_the_reason_as_message():
    exc = UnreadableImage("empty file")
    assert isinstance(exc, ValueError)
    assert str(exc) == exc.reason == "empty file"
