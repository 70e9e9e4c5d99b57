"""Worker heartbeat: each running worker keeps a short-lived key in the broker's Redis.

Why the broker and not the cache or the database: it is the one thing web and workers always share
(the default cache is per process), a key with a TTL disappears by itself when a worker is killed,
and reading it is one round trip on a socket. Celery's own heartbeats/ping need a broadcast and a
wait; a page poll can't afford that.

The worker's main process writes `<prefix>eyespy:worker:<hostname>` every BEAT_SECONDS with a TTL of
TTL_SECONDS, and adds its name to the set `<prefix>eyespy:workers` (connected in eyespy_site/celery.py).
The web asks `workers_alive()`: the set's members whose key still exists. Redis expires the keys, so no
clocks are compared, and the read is O(workers), never a scan of a shared database.
"""
from __future__ import annotations

import logging
import threading
import time
from functools import lru_cache
from urllib.parse import unquote, urlsplit

logger = logging.getLogger(__name__)

BEAT_SECONDS = 5
TTL_SECONDS = 20  # a few missed beats (a busy machine) before the web says no worker is running
KEY = "eyespy:worker:"
MEMBERS = "eyespy:workers"


@lru_cache(maxsize=4)
def _client_for(url: str):
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    parts = urlsplit(url)
    # No retries: a page poll must answer at once when the broker is down ("can't tell").
    opts = {"socket_timeout": 1.0, "socket_connect_timeout": 1.0, "retry": Retry(NoBackoff(), 0)}
    if parts.scheme == "redis+socket":
        return redis.Redis(unix_socket_path=unquote(parts.path), **opts)
    return redis.Redis.from_url(url, **opts)


def _client_and_prefix():
    """A redis client for the broker, or None when the broker is not Redis (e.g. memory:// in tests)."""
    from eyespy_site.celery import app

    url = app.conf.broker_url or ""
    if not url.startswith(("redis://", "rediss://", "redis+socket://")):
        return None, ""
    prefix = (app.conf.broker_transport_options or {}).get("global_keyprefix", "")
    return _client_for(url), prefix


def beat(hostname: str) -> None:
    client, prefix = _client_and_prefix()
    if client is not None:
        pipe = client.pipeline()
        pipe.set(f"{prefix}{KEY}{hostname}", f"{time.time():.3f}", ex=TTL_SECONDS)
        pipe.sadd(f"{prefix}{MEMBERS}", hostname)
        pipe.execute()


def forget(hostname: str) -> None:
    """A worker that shuts down cleanly says so at once."""
    client, prefix = _client_and_prefix()
    if client is not None:
        client.delete(f"{prefix}{KEY}{hostname}")
        client.srem(f"{prefix}{MEMBERS}", hostname)


def workers_alive() -> bool | None:
    """True when some worker beat within TTL_SECONDS; False when none did; None when it can't be told
    (the broker is not Redis, or it can't be reached: then the page shows its usual counts)."""
    import redis

    client, prefix = _client_and_prefix()
    if client is None:
        return None
    try:
        names = sorted(n.decode() for n in client.smembers(f"{prefix}{MEMBERS}"))
        alive = client.exists(*(f"{prefix}{KEY}{n}" for n in names)) if names else 0
        if len(names) > alive:  # some are gone (killed): drop the names whose key expired
            gone = [n for n in names if not client.exists(f"{prefix}{KEY}{n}")]
            if gone:
                client.srem(f"{prefix}{MEMBERS}", *gone)
    except (redis.RedisError, OSError) as exc:
        logger.warning("can't read worker heartbeats: %s", exc)
        return None
    return alive > 0


def start_beating(hostname: str, stop: threading.Event) -> threading.Thread:
    """Beat from a daemon thread until `stop` is set; errors are logged and the next beat tries again."""

    def run() -> None:
        while not stop.is_set():
            try:
                beat(hostname)
            except Exception as exc:  # broker down for a moment: keep beating, the TTL says the rest
                logger.warning("worker heartbeat failed: %s", exc)
            stop.wait(BEAT_SECONDS)

    thread = threading.Thread(target=run, name="eyespy-heartbeat", daemon=True)
    thread.start()
    return thread
