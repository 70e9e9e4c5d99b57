"""The worker heartbeat (eyespy_site/heartbeat.py) and what the session page says when no worker is alive."""
from __future__ import annotations

import pytest

from eyespy_site import embedded_redis, heartbeat
from tests.factories import make_photo, make_session, make_user
from tests.integration.brokers import use_broker
from tests.integration.worker import embedded_redis_worker, test_database_url, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def embedded_broker(tmp_path_factory, settings):
    server = embedded_redis.start(tmp_path_factory.mktemp("hb-var"))
    try:
        with use_broker(server.url, dict(settings.CELERY_BROKER_TRANSPORT_OPTIONS)):
            yield server
    finally:
        server.stop()


def test_beats_expire_and_clean_goodbyes_count_at_once(embedded_broker):
    import redis

    assert heartbeat.workers_alive() is False  # nobody has beaten yet
    heartbeat.beat("w1@host")
    heartbeat.beat("w2@host")
    assert heartbeat.workers_alive() is True
    heartbeat.forget("w1@host")
    assert heartbeat.workers_alive() is True  # w2 is still there
    client = redis.Redis(unix_socket_path=str(embedded_broker.socket))
    assert 0 < client.ttl(f"{heartbeat.KEY}w2@host") <= heartbeat.TTL_SECONDS
    client.delete(f"{heartbeat.KEY}w2@host")  # what the TTL does to a killed worker's key
    assert heartbeat.workers_alive() is False
    assert client.smembers(heartbeat.MEMBERS) == set()  # the dead name was dropped


def test_unknown_when_the_broker_is_down_or_not_redis(tmp_path):
    with use_broker(embedded_redis.broker_url(tmp_path)):  # no server on that socket
        assert heartbeat.workers_alive() is None
    with use_broker("memory://"):
        assert heartbeat.workers_alive() is None


def test_session_page_says_when_no_worker_is_running(client, shared_media, tmp_path_factory):
    user = make_user()
    session = make_session(user)
    client.force_login(user)
    url = f"/sessions/{session.uuid}/progress/"
    with embedded_redis_worker(db_url=test_database_url(), var_dir=tmp_path_factory.mktemp("hb-worker-var"),
                               media_dir=shared_media, queues="exports") as worker:  # it won't take the photo
        wait_for(lambda: heartbeat.workers_alive() is True, timeout=30, what="the worker's first beat",
                 on_timeout=worker.log)
        make_photo(session)  # queued, nobody sends it: stays waiting
        html = client.get(url).content.decode()
        assert "0 analysing, 1 waiting" in html and "no worker is running" not in html
        worker.stop()  # a clean shutdown says goodbye at once
        html = client.get(url).content.decode()
        assert "no worker is running" in html and "1 photo will be analysed once one starts" in html


def test_the_embedded_redis_never_evicts_queued_tasks(embedded_broker):
    """Celery's single-Redis rule: under memory pressure writes are refused, never queued tasks dropped."""
    import redis

    client = redis.Redis(unix_socket_path=str(embedded_broker.socket))
    assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
