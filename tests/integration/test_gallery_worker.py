"""Gallery previews are made by a real Celery worker on the `exports` queue, once, after the gallery is
created; the client's page shows placeholders until then and the previews afterwards."""
from __future__ import annotations

import pytest
from django.test import Client as WebClient

from galleries import services
from sessions_app.models import GalleryPhoto
from tests.factories import make_session, make_user
from tests.integration.worker import embedded_redis_worker, test_database_url, wait_for
from tests.review_builders import OPEN, make_judged_photo

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def previews_worker(django_db_setup, django_db_blocker, shared_media_dir, tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("gallery-worker-var")
    with django_db_blocker.unblock():
        db_url = test_database_url()
    with embedded_redis_worker(db_url=db_url, var_dir=var_dir, media_dir=shared_media_dir,
                                  queues="exports") as worker:
        yield worker


def test_the_worker_makes_the_previews_the_page_then_shows(previews_worker, shared_media):
    session = make_session(make_user())
    photos = [make_judged_photo(session, faces=OPEN, name=f"IMG_{i:04d}.JPG") for i in range(3)]
    gallery = services.gallery_create(session=session, photos=photos, title="Worker gallery")
    guest = WebClient()
    guest.post(f"/g/{gallery.token}/enter/", {"name": "Jane", "email": "jane@example.com"})

    def ready() -> bool:
        return gallery.items.filter(preview_status=GalleryPhoto.PreviewStatus.READY).count() == 3

    wait_for(ready, timeout=60, what="the worker to make the gallery previews",
             on_timeout=lambda: previews_worker.log()[-3000:])
    page = guest.get(f"/g/{gallery.token}/").content.decode()
    assert "g-placeholder" not in page and page.count('class="g-open"') == 3
    key = str(gallery.items.order_by("position").first().uuid)
    assert guest.get(f"/g/{gallery.token}/p/{key}/960.jpg").status_code == 200
