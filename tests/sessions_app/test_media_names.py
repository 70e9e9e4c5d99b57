"""sessions_app.media_names: the one owner of stored names, the old names it still reads, and deletion."""
from __future__ import annotations

import uuid

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from classifier.services import model_version_promote
from sessions_app import media_names, services
from tests.factories import make_model_version, make_photo, make_session

from .conftest import mark_done

PHOTO = uuid.UUID("0b8d091a-c2b5-4468-b5d5-9d3e9af072d4")
HEX = PHOTO.hex


def test_every_derived_name_of_a_photo_lies_in_its_folder():
    folder = media_names.derived_folder(PHOTO)
    assert folder == f"derived/{HEX}"
    names = [
        media_names.thumbnail_name(PHOTO),
        media_names.preview_name(PHOTO),
        media_names.eye_crop_new_name(photo_uuid=PHOTO, model_version_id=3, face_index=1, side="left"),
        media_names.zoom_name(photo_uuid=PHOTO, model_version_id=3, face_index=1),
        media_names.gallery_preview_name(photo_uuid=PHOTO, variant="w1600-wm3f2a"),
        media_names.training_crop_name(photo_uuid=PHOTO, example_key="c12-f0-left"),
    ]
    assert all(n.startswith(folder + "/") for n in names)
    assert len(set(names)) == len(names)


def test_eye_crops_and_zooms_are_per_model_version():
    a = media_names.eye_crop_new_name(photo_uuid=PHOTO, model_version_id=1, face_index=0, side="right")
    b = media_names.eye_crop_new_name(photo_uuid=PHOTO, model_version_id=2, face_index=0, side="right")
    assert a == f"derived/{HEX}/m1/eye-0-right.png" and a != b
    assert media_names.zoom_name(photo_uuid=PHOTO, model_version_id=1, face_index=0) != media_names.zoom_name(
        photo_uuid=PHOTO, model_version_id=2, face_index=0)


@pytest.mark.parametrize("call", [
    lambda: media_names.eye_crop_new_name(photo_uuid=PHOTO, model_version_id=1, face_index=0, side="middle"),
    lambda: media_names.gallery_preview_name(photo_uuid=PHOTO, variant="../x"),
    lambda: media_names.training_crop_name(photo_uuid=PHOTO, example_key="a/b"),
])
def test_names_refuse_parts_that_could_escape_the_folder(call):
    with pytest.raises(ValueError):
        call()


def test_exports_and_weights_keep_only_the_file_name():
    s, e = uuid.uuid4(), uuid.uuid4()
    assert media_names.export_name(session_uuid=s, export_uuid=e, filename="../../x.zip") == f"exports/{s}/{e.hex}/x.zip"
    assert media_names.model_weights_name(version_name="v2", filename="a/eye.tflite") == "models/v2/eye.tflite"


@pytest.mark.parametrize("name, ok", [
    (f"derived/{HEX}/m4/eye-0-left.png", True),  # today's
    (f"derived/{HEX}/eye-0-left.png", True),  # per photo, before model versions had their own
    (f"derived/{PHOTO}/eye-0-left.png", True),  # the oldest, dashed uuid
    (f"derived/{uuid.uuid4().hex}/eye-0-left.png", False),  # another photo's
    (f"derived/{HEX}/../{uuid.uuid4().hex}/eye.png", False),
    ("photos/x/y.jpg", False),
    ("", False),
])
def test_eye_crop_name_reads_old_and_new_names_but_only_the_photos_own(name, ok):
    assert media_names.eye_crop_name(photo_uuid=PHOTO, eye={"crop_path": name}) == (name if ok else "")


def test_eye_crop_name_of_malformed_stored_eyes_is_empty():
    assert media_names.eye_crop_name(photo_uuid=PHOTO, eye=None) == ""
    assert media_names.eye_crop_name(photo_uuid=PHOTO, eye={"crop_path": 7}) == ""


def test_photo_file_names_finds_every_layout_under_the_folder():
    names = [
        media_names.thumbnail_name(PHOTO),
        media_names.eye_crop_new_name(photo_uuid=PHOTO, model_version_id=1, face_index=0, side="left"),
        media_names.gallery_preview_name(photo_uuid=PHOTO, variant="w800"),
        f"derived/{HEX}/eye-0-left.png",
        f"derived/{PHOTO}/thumb.jpg",
    ]
    for n in names:
        default_storage.save(n, ContentFile(b"x"))
    found = media_names.photo_file_names(photo_uuid=PHOTO, stored_names=["photos/s/p.jpg", ""])
    assert found == {*names, "photos/s/p.jpg"}


def test_an_old_install_keeps_serving_and_deleting_its_per_photo_crops(web, alice, alice_session,
                                                                      django_capture_on_commit_callbacks):
    """A prediction stored before crops were per model version, and a newer one beside it."""
    photo = make_photo(alice_session)
    old_crop = default_storage.save(f"derived/{photo.uuid.hex}/eye-0-left.png", ContentFile(b"old-pixels"))
    old = make_model_version("old", is_live=True)
    mark_done(photo, p_closed=0.9, model_version=old, crops={"left": old_crop})
    assert web.get(f"/photos/{photo.uuid}/eye/0/left/").getvalue() == b"old-pixels"

    new = make_model_version("new", is_live=False)
    new_crop = default_storage.save(
        media_names.eye_crop_new_name(photo_uuid=photo.uuid, model_version_id=new.id, face_index=0, side="left"),
        ContentFile(b"new-pixels"))
    photo.predictions.create(model_version=new, verdict="BLINKING", confidence=0.9, reason="test",
                             details={"faces": [{"eyes": [{"side": "left", "p_closed": 0.9, "crop_path": new_crop}]}]})
    model_version_promote(version=new)
    assert web.get(f"/photos/{photo.uuid}/eye/0/left/").getvalue() == b"new-pixels"
    model_version_promote(version=old)  # a roll back shows the pixels that version judged
    assert web.get(f"/photos/{photo.uuid}/eye/0/left/").getvalue() == b"old-pixels"

    with django_capture_on_commit_callbacks(execute=True):
        services.session_delete(session=alice_session)
    assert not default_storage.exists(old_crop) and not default_storage.exists(new_crop)


def test_session_file_names_covers_photos_and_exports_of_that_session_only(alice, alice_session):
    mine = make_photo(alice_session)
    theirs = make_photo(make_session(alice))
    crop = default_storage.save(
        media_names.eye_crop_new_name(photo_uuid=mine.uuid, model_version_id=1, face_index=0, side="left"),
        ContentFile(b"x"))
    names = media_names.session_file_names(alice_session)
    assert mine.original.name in names and crop in names
    assert theirs.original.name not in names
