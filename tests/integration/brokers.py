"""Point this test process's Celery app at another broker for a while (tests only).

The app reads its broker from settings once; its connection and producer pools are cached. Swapping
the URL and dropping the pools is enough for `.delay()` to publish to the new broker.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

from eyespy_site.celery import app as celery_app


def _drop_pools() -> None:
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    celery_app._pool = None
    amqp = celery_app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None


@contextmanager
def use_broker(url: str, transport_options: dict | None = None) -> Iterator[None]:
    conf = celery_app.conf
    saved = (conf.broker_url, conf.broker_transport_options)
    # The environment variable wins over conf.broker_url inside Celery; set it too.
    saved_env = os.environ.get("CELERY_BROKER_URL")
    os.environ["CELERY_BROKER_URL"] = url
    _drop_pools()
    conf.broker_url = url
    conf.broker_transport_options = transport_options or {}
    try:
        yield
    finally:
        _drop_pools()
        conf.broker_url, conf.broker_transport_options = saved
        if saved_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = saved_env


def queue_depth(queue: str = "photos") -> int:
    """Messages waiting in `queue` of the current broker."""
    from kombu.exceptions import ChannelError

    with celery_app.connection_for_read() as conn:
        try:
            return conn.default_channel.queue_declare(queue=queue, passive=True).message_count
        except ChannelError:
            return 0  # Redis reports an empty queue as a missing one
