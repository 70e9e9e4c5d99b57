"""Photos whose task could not be sent (broker down at upload) are marked unsent and re-sent by the workers
within seconds (classifier.services.photos_send_unsent, classifier/unsent_sender.py). The real broker
outage is in tests/integration/test_embedded_broker_faults.py."""
from __future__ import annotations

import threading
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as WebClient
from kombu.exceptions import OperationalError as KombuOperationalError

from classifier import services, unsent_sender
from classifier.tasks import process_photo_task
from sessions_app.models import Photo
from tests.factories import jpeg_bytes, make_photo

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker(monkeypatch):
    """A broker that can be switched off: `down` (or `down_after` sends) makes a publish fail as kombu's does."""

    class Broker:
        def __init__(self) -> None:
            self.down = False
            self.down_after: int | None = None
            self.sent: list[int] = []
            self.tries = 0

        def delay(self, photo_id):
            self.tries += 1
            if self.down or (self.down_after is not None and len(self.sent) >= self.down_after):
                raise KombuOperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
            self.sent.append(photo_id)

    fake = Broker()
    monkeypatch.setattr(process_photo_task, "delay", fake.delay)
    return fake


def _unsent(ids) -> dict[int, bool]:
    return dict(Photo.objects.filter(pk__in=ids).values_list("pk", "unsent"))


def test_a_failed_send_marks_that_photo_and_the_rest_unsent_and_stops_trying(
        session, broker, django_capture_on_commit_callbacks):
    photos = [make_photo(session) for _ in range(4)]
    ids = [p.pk for p in photos]
    broker.down_after = 1
    with django_capture_on_commit_callbacks(execute=True):
        services.photos_enqueue(photo_ids=ids)

    assert broker.sent == ids[:1]
    assert broker.tries == 2  # each try against a dead broker waits for its timeout: no more after the first
    assert _unsent(ids) == {ids[0]: False, ids[1]: True, ids[2]: True, ids[3]: True}


def test_unsent_photos_are_sent_once_the_broker_is_back(session, broker, django_capture_on_commit_callbacks):
    ids = [make_photo(session).pk for _ in range(3)]
    broker.down = True
    with django_capture_on_commit_callbacks(execute=True):
        services.photos_enqueue(photo_ids=ids)
    with pytest.raises(KombuOperationalError):
        services.photos_send_unsent()  # still down: nothing changes
    assert all(_unsent(ids).values())

    broker.down = False
    assert services.photos_send_unsent() == 3
    assert broker.sent == ids
    assert not any(_unsent(ids).values())
    assert services.photos_send_unsent() == 0  # sent once, not on every look


def test_only_queued_photos_are_re_sent(session, broker):
    queued, done = make_photo(session), make_photo(session, status=Photo.Status.DONE)
    Photo.objects.filter(pk__in=[queued.pk, done.pk]).update(unsent=True)
    assert services.photos_send_unsent() == 1
    assert broker.sent == [queued.pk]


def test_a_claim_clears_the_mark(session):
    photo = make_photo(session)
    Photo.objects.filter(pk=photo.pk).update(unsent=True)
    assert services.photo_claim(photo_id=photo.pk, task_id="t1")
    assert _unsent([photo.pk]) == {photo.pk: False}


def test_an_upload_while_the_broker_is_down_succeeds_and_is_marked_unsent(
        session, alice, broker, django_capture_on_commit_callbacks):
    broker.down = True
    web = WebClient()
    web.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        resp = web.post(f"/sessions/{session.uuid}/upload/",
                        {"file": SimpleUploadedFile("IMG_1.JPG", jpeg_bytes(), content_type="image/jpeg")},
                        headers={"accept": "application/json"})
    assert resp.status_code == 201
    photo = Photo.objects.get(session=session)
    assert (photo.status, photo.unsent) == (Photo.Status.QUEUED, True)


def test_the_sender_thread_looks_every_few_seconds_and_logs_an_outage_once(monkeypatch, caplog):
    looks: list[float] = []

    def send_unsent():
        looks.append(time.monotonic())
        if len(looks) <= 3:
            raise KombuOperationalError("connection refused")
        return 0

    monkeypatch.setattr(services, "photos_send_unsent", send_unsent)
    stop = threading.Event()
    thread = unsent_sender.start(stop, every=0.01)
    deadline = time.monotonic() + 10
    while len(looks) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    thread.join(timeout=5)

    assert len(looks) >= 5 and not thread.is_alive()
    assert [r.message for r in caplog.records].count("can't re-send unsent photos yet: connection refused") == 1
    assert unsent_sender.EVERY_SECONDS <= 5  # seconds, not the sweeper's minutes


def test_uploads_right_after_a_failed_send_are_marked_unsent_without_waiting_on_the_broker(
        session, broker, django_capture_on_commit_callbacks):
    broker.down = True
    photos = [make_photo(session) for _ in range(5)]
    for photo in photos:  # one upload request (or imported file) at a time
        with django_capture_on_commit_callbacks(execute=True):
            services.photos_enqueue(photo_ids=[photo.pk])
    assert broker.tries == 1  # the first one waited for the broker; the next four did not
    assert all(_unsent([p.pk for p in photos]).values())

    # The workers' re-sender always tries, and once a send succeeds, uploads go straight out again.
    broker.down = False
    assert services.photos_send_unsent() == 5
    later = make_photo(session)
    with django_capture_on_commit_callbacks(execute=True):
        services.photos_enqueue(photo_ids=[later.pk])
    assert broker.sent[-1] == later.pk and not _unsent([later.pk])[later.pk]
