"""Gallery previews: made once by the background job, from the worker's preview, under the photo's derived
folder; idempotent; a changed watermark gets new files; one bad photo fails alone."""
from __future__ import annotations

import io

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from galleries import previews, services, tasks
from sessions_app import media_names
from sessions_app.models import GalleryPhoto
from tests.factories import jpeg_bytes
from tests.gallery_builders import judged_shoot, make_gallery

PS = GalleryPhoto.PreviewStatus


@pytest.fixture
def queued(monkeypatch) -> list[int]:
    sent: list[int] = []
    monkeypatch.setattr(tasks.build_gallery_previews_task, "delay", lambda gallery_id: sent.append(gallery_id))
    return sent


@pytest.fixture
def shoot(alice_session):
    keep, _ = judged_shoot(alice_session, keepers=3, blinks=0)
    for photo in keep:  # the worker's 1600 px preview (here 2400x1600 → 1600x1067 is the biggest size)
        photo.preview.save(media_names.preview_name(photo.uuid), ContentFile(jpeg_bytes(size=(1600, 1067))), save=True)
    return keep


def test_creating_a_gallery_queues_one_job_after_the_commit(alice_session, shoot, queued,
                                                            django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        gallery = make_gallery(alice_session, shoot, previews=False)
    assert queued == [gallery.id]
    assert set(gallery.items.values_list("preview_status", flat=True)) == {PS.PENDING}


def test_the_job_makes_three_sizes_under_the_photos_derived_folder(alice_session, shoot, monkeypatch):
    monkeypatch.setattr(services, "gallery_previews_enqueue", lambda *, gallery: None)
    gallery = make_gallery(alice_session, shoot, previews=False)
    tasks.build_gallery_previews_task.apply(kwargs={"gallery_id": gallery.id}).get()
    for item in gallery.items.select_related("photo"):
        assert (item.preview_status, item.preview_key, item.preview_width, item.preview_height) == \
            (PS.READY, "plain", 1600, 1067)
        for size in previews.SIZES:
            name = previews.preview_name(item, key="plain", size=size)
            assert name.startswith(media_names.derived_folder(item.photo.uuid) + "/gallery/")
            with default_storage.open(name) as fh:
                assert max(Image.open(fh).size) == size


def test_it_is_idempotent(alice_session, shoot, monkeypatch):
    monkeypatch.setattr(services, "gallery_previews_enqueue", lambda *, gallery: None)
    gallery = make_gallery(alice_session, shoot, previews=False)
    assert previews.gallery_previews_build(gallery_id=gallery.id) == 3
    drawn = []
    monkeypatch.setattr(previews, "render_variants", lambda *a, **k: drawn.append(1) or {})
    assert previews.gallery_previews_build(gallery_id=gallery.id) == 0 and drawn == []
    assert previews.gallery_previews_build(gallery_id=987654) == 0  # a deleted gallery: nothing to do


def test_a_new_watermark_gets_its_own_files_and_the_old_ones_are_never_served(alice_session, shoot, monkeypatch):
    monkeypatch.setattr(services, "gallery_previews_enqueue", lambda *, gallery: None)
    gallery = make_gallery(alice_session, shoot)
    services.gallery_update(gallery=gallery, title=gallery.title, watermark_text="© Studio Nord")
    key = previews.preview_key("© Studio Nord")
    assert key.startswith("wm") and set(gallery.items.values_list("preview_status", flat=True)) == {PS.PENDING}
    assert previews.gallery_previews_build(gallery_id=gallery.id) == 3
    item = gallery.items.select_related("photo").first()
    plain, marked = (default_storage.open(previews.preview_name(item, key=k, size=480)).read() for k in ("plain", key))
    assert plain != marked


def test_a_stale_run_does_not_mark_photos_ready_for_an_old_watermark(alice_session, shoot, monkeypatch):
    monkeypatch.setattr(services, "gallery_previews_enqueue", lambda *, gallery: None)
    gallery = make_gallery(alice_session, shoot, previews=False)
    real = previews.render_variants

    def change_midway(source, *, watermark_text):
        type(gallery).objects.filter(pk=gallery.pk).update(watermark_text="NEW")
        return real(source, watermark_text=watermark_text)

    monkeypatch.setattr(previews, "render_variants", change_midway)
    previews.gallery_previews_build(gallery_id=gallery.id)
    assert not gallery.items.filter(preview_status=PS.READY).exists()


def test_one_unreadable_photo_fails_alone(alice_session, shoot, monkeypatch):
    monkeypatch.setattr(services, "gallery_previews_enqueue", lambda *, gallery: None)
    broken = shoot[1]
    default_storage.delete(broken.preview.name)
    with default_storage.open(broken.original.name, "wb") as fh:
        fh.write(b"not a jpeg at all")
    gallery = make_gallery(alice_session, shoot)
    statuses = dict(gallery.items.values_list("photo_id", "preview_status"))
    assert statuses[broken.id] == PS.FAILED and list(statuses.values()).count(PS.READY) == 2


def test_watermark_covers_the_picture():
    source = Image.new("RGB", (900, 600), (40, 40, 40))
    marked = previews.watermark(source, "PROOF")
    # Tiled: there are marks in every quarter of the picture, so a crop can't get rid of them.
    for box in ((0, 0, 450, 300), (450, 0, 900, 300), (0, 300, 450, 600), (450, 300, 900, 600)):
        assert marked.crop(box).convert("L").getextrema()[1] > 80
    buf = io.BytesIO()
    marked.save(buf, "JPEG")
    assert buf.tell() > 0


def test_deleting_the_session_deletes_the_gallery_previews(alice_session, shoot, monkeypatch,
                                                           django_capture_on_commit_callbacks):
    from sessions_app.services import session_delete

    monkeypatch.setattr(services, "gallery_previews_enqueue", lambda *, gallery: None)
    gallery = make_gallery(alice_session, shoot)
    names = [previews.preview_name(i, key="plain", size=s) for i in gallery.items.select_related("photo")
             for s in previews.SIZES]
    assert all(default_storage.exists(n) for n in names)
    with django_capture_on_commit_callbacks(execute=True):
        session_delete(session=alice_session)
    assert not any(default_storage.exists(n) for n in names)
