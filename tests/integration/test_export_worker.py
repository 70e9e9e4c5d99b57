"""A big export goes through a real Celery worker on the `exports` queue and reports progress on its row."""
from __future__ import annotations

import zipfile

import pytest

from review.exports import export_create
from sessions_app.models import Export
from tests.factories import make_session, make_user
from tests.integration.worker import embedded_redis_worker, test_database_url, wait_for
from tests.review_builders import BLINK, OPEN, make_judged_photo

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def exports_worker(django_db_setup, django_db_blocker, shared_media_dir, tmp_path_factory):
    """The zero-service default (embedded Redis), with a worker that only takes export tasks."""
    var_dir = tmp_path_factory.mktemp("exports-worker-var")
    with django_db_blocker.unblock():
        db_url = test_database_url()
    with embedded_redis_worker(db_url=db_url, var_dir=var_dir, media_dir=shared_media_dir,
                                  queues="exports") as worker:
        yield worker


def test_large_export_is_built_by_the_worker(exports_worker, shared_media, settings):
    settings.EYESPY_EXPORT_INLINE_MAX_PHOTOS = 2  # anything bigger goes to the queue
    alice = make_user()
    session = make_session(alice)
    for i in range(6):
        make_judged_photo(session, faces=BLINK if i % 3 == 0 else OPEN, name=f"IMG_{i:04d}.JPG")

    export = export_create(session=session, fmt="folders-zip", by=alice)
    assert export.status == Export.Status.QUEUED and export.total == 6

    def finished() -> bool:
        export.refresh_from_db()
        return export.status in (Export.Status.DONE, Export.Status.FAILED)

    wait_for(finished, timeout=60, what="the worker to build the export", on_timeout=lambda: exports_worker.log()[-3000:])
    assert export.status == Export.Status.DONE, export.error
    assert export.progress == export.total == 6
    with export.file.open("rb") as fh, zipfile.ZipFile(fh) as zf:
        names = sorted(zf.namelist())
    assert names[:2] == ["BLINKING/IMG_0000.JPG", "BLINKING/IMG_0003.JPG"] and len(names) == 6
