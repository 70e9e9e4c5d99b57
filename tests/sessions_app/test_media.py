"""Media views: only the owner gets a photo's files; local files stream, S3 files redirect to a signed URL."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage
from django.utils.http import urlencode

from tests.factories import make_model_version, make_photo

from .conftest import mark_done


class FakeS3Storage(FileSystemStorage):
    """Stores like the local backend but, like S3, has no local path and signs its URLs."""

    def path(self, name):
        raise NotImplementedError("remote storage")

    def url(self, name, parameters=None, expire=None, http_method=None):
        extra = f"&{urlencode(parameters)}" if parameters else ""  # query-encoded, as S3Storage does
        return f"https://bucket.s3.example/{name}?X-Amz-Signature=abc&X-Amz-Expires=300{extra}"


@pytest.fixture
def photo(alice_session):
    p = make_photo(alice_session, name="IMG_0042.JPG")
    derived = f"derived/{p.uuid}"
    p.thumbnail.save(f"{derived}/thumb.jpg", ContentFile(b"thumb-bytes"), save=False)
    p.preview.save(f"{derived}/preview.jpg", ContentFile(b"preview-bytes"), save=False)
    p.save()
    crop = default_storage.save(f"{derived}/eye-0-left.png", ContentFile(b"crop-bytes"))
    return mark_done(p, p_closed=0.9, model_version=make_model_version(), crops={"left": crop})


def _body(resp) -> bytes:
    return b"".join(resp.streaming_content)


def test_owner_gets_original_inline_with_private_cache(web, photo):
    resp = web.get(f"/photos/{photo.uuid}/original/")
    assert resp.status_code == 200
    assert _body(resp) == default_storage.open(photo.original.name).read()
    assert resp["Content-Type"] == "image/jpeg"
    assert resp["Content-Disposition"].startswith("inline") and "IMG_0042.JPG" in resp["Content-Disposition"]
    assert "private" in resp["Cache-Control"] and "max-age" in resp["Cache-Control"]
    assert "public" not in resp["Cache-Control"]


def test_original_download_is_an_attachment(web, photo):
    resp = web.get(f"/photos/{photo.uuid}/original/?download=1")
    assert resp["Content-Disposition"].startswith("attachment") and "IMG_0042.JPG" in resp["Content-Disposition"]


def test_owner_gets_thumbnail_preview_and_eye_crop(web, photo):
    assert _body(web.get(f"/photos/{photo.uuid}/thumb/")) == b"thumb-bytes"
    assert _body(web.get(f"/photos/{photo.uuid}/preview/")) == b"preview-bytes"
    resp = web.get(f"/photos/{photo.uuid}/eye/0/left/")
    assert resp.status_code == 200 and resp["Content-Type"] == "image/png"
    assert _body(resp) == b"crop-bytes"


@pytest.mark.parametrize("path", ["eye/0/right/", "eye/1/left/", "eye/0/middle/"])
def test_missing_eye_crops_are_404(web, photo, path):
    assert web.get(f"/photos/{photo.uuid}/{path}").status_code == 404


def test_eye_crop_outside_the_photos_folder_is_never_served(web, alice_session, photo):
    other = make_photo(alice_session)
    Prediction = photo.predictions.model
    pred = Prediction.objects.get(photo=photo)
    pred.details["faces"][0]["eyes"][1]["crop_path"] = other.original.name
    pred.save()
    assert web.get(f"/photos/{photo.uuid}/eye/0/right/").status_code == 404


def test_not_yet_processed_photo_has_no_thumbnail(web, alice_session):
    p = make_photo(alice_session)
    assert web.get(f"/photos/{p.uuid}/thumb/").status_code == 404
    assert web.get(f"/photos/{p.uuid}/preview/").status_code == 404
    assert web.get(f"/photos/{p.uuid}/eye/0/left/").status_code == 404


def test_file_missing_from_storage_is_404(web, photo):
    default_storage.delete(photo.thumbnail.name)
    assert web.get(f"/photos/{photo.uuid}/thumb/").status_code == 404


def _use_fake_s3(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": f"{__name__}.FakeS3Storage", "OPTIONS": {"location": str(tmp_path / "media")}},
    }


def test_on_s3_the_view_redirects_to_a_signed_url(web, photo, settings, tmp_path):
    _use_fake_s3(settings, tmp_path)
    resp = web.get(f"/photos/{photo.uuid}/thumb/")
    assert resp.status_code == 302
    assert resp["Location"].startswith(f"https://bucket.s3.example/{photo.thumbnail.name}?X-Amz-Signature=")
    assert "private" in resp["Cache-Control"]
    resp = web.get(f"/photos/{photo.uuid}/original/?download=1")
    assert "ResponseContentDisposition=attachment" in resp["Location"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ('my "best" shot.jpg', 'attachment; filename="my \\"best\\" shot.jpg"'),
        ("Zoë; filename=evil.html.jpg", "attachment; filename*=utf-8''Zo%C3%AB%3B%20filename%3Devil.html.jpg"),
    ],
)
def test_download_names_are_quoted_in_content_disposition(web, alice_session, settings, tmp_path, name, expected):
    # The name is the photographer's (or their client's) file name: a quote, a semicolon or an accent
    # must not break out of the header, whether Django streams the file or S3 answers the signed URL.
    photo = make_photo(alice_session, name=name)
    local = web.get(f"/photos/{photo.uuid}/original/?download=1")
    assert local["Content-Disposition"] == expected

    _use_fake_s3(settings, tmp_path)
    remote = web.get(f"/photos/{photo.uuid}/original/?download=1")
    assert remote.status_code == 302
    assert parse_qs(urlsplit(remote["Location"]).query)["ResponseContentDisposition"] == [expected]


@pytest.mark.parametrize("path", ["original/", "thumb/", "preview/", "eye/0/left/"])
def test_other_photographer_gets_404_for_media(bob_web, photo, path):
    assert bob_web.get(f"/photos/{photo.uuid}/{path}").status_code == 404


@pytest.mark.parametrize("path", ["original/", "thumb/"])
def test_logged_out_media_requests_go_to_login(client, photo, path):
    resp = client.get(f"/photos/{photo.uuid}/{path}")
    assert resp.status_code == 302 and resp["Location"].startswith("/accounts/login/")


def test_media_has_no_public_url(client, photo):
    # Read the settings module itself: browser tests give Django's live server a dummy MEDIA_URL.
    from eyespy_site import settings as site_settings

    assert site_settings.MEDIA_URL is None
    assert client.get(f"/media/{photo.original.name}").status_code == 404
