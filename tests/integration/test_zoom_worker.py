"""The 100 % eye zoom is cut by a real worker (queue `zooms`) from the original; the web process only asks."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.factories import jpeg_bytes, make_session, make_user
from tests.integration.conftest import redis_broker_worker
from tests.integration.worker import wait_for
from tests.review_builders import BLINK, make_judged_photo

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def zoom_worker(django_db_setup, django_db_blocker, shared_media_dir, tmp_path_factory):
    with redis_broker_worker(django_db_blocker=django_db_blocker, media_dir=shared_media_dir,
                             var_dir=tmp_path_factory.mktemp("zoom-worker-var"), queues="zooms") as worker:
        yield worker


def test_first_view_is_pending_then_the_worker_s_crop_is_served(client, zoom_worker, shared_media):
    user = make_user()
    client.force_login(user)
    big = jpeg_bytes(size=(3000, 2000), color=(90, 60, 40))
    photo = make_judged_photo(make_session(user), faces=BLINK, data=big, width=3000, height=2000)
    url = f"/photos/{photo.uuid}/zoom/0/"

    assert client.get(url).status_code == 202
    wait_for(lambda: client.get(url).status_code == 200, timeout=60, what="the worker to cut the zoom",
             on_timeout=lambda: zoom_worker.log()[-3000:])

    response = client.get(url)
    crop = Image.open(io.BytesIO(b"".join(response.streaming_content)))
    assert crop.format == "JPEG" and crop.width > 200  # cut at 100 % from the 3000 px original
    assert "make_eye_zoom_task" in zoom_worker.log()
