"""Integration fixtures: a real `celery worker` subprocess on a real broker, sharing the test database.

Database: the worker is given pytest-django's test database through DATABASE_URL (test_eyespy on
the PostgreSQL pass). On SQLite the test database is normally in memory, which another process
can't open, so these tests give it a file (DATABASES TEST NAME, set below before the test database
is created). The tests are transactional, so what the test writes is committed and the worker sees it.

Media: test and worker share one folder per module. Broker: Redis (db 15 with a per-run key prefix,
so parallel runs and other users of that database don't meet) or the embedded Redis on a unix socket
(eyespy_site/embedded_redis.py, as bin/run starts it).
Missing services skip locally and fail in CI (tests/conftest.py `require`).
"""
from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from tests.conftest import require
from tests.integration.brokers import use_broker
from tests.integration.worker import WorkerProcess, embedded_redis_worker, start_worker, test_database_url

REDIS_URL = os.environ.get("EYESPY_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

_default_db = django_settings.DATABASES["default"]
if _default_db["ENGINE"].endswith("sqlite3") and not (_default_db.get("TEST") or {}).get("NAME"):
    _default_db.setdefault("TEST", {})["NAME"] = os.path.join(
        tempfile.gettempdir(), f"eyespy-test-{os.getpid()}.sqlite3"
    )


def pytest_sessionfinish(session, exitstatus):
    # Django deletes the SQLite test database file; WAL mode leaves its two side files behind.
    name = (_default_db.get("TEST") or {}).get("NAME")
    if name and _default_db["ENGINE"].endswith("sqlite3"):
        for suffix in ("-wal", "-shm"):
            Path(f"{name}{suffix}").unlink(missing_ok=True)


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="module")
def shared_media_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("shared-media")


@pytest.fixture
def shared_media(settings, shared_media_dir):
    """This test's storage is the folder the worker writes to (overrides the per-test temp media)."""
    settings.MEDIA_ROOT = shared_media_dir
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(shared_media_dir), "base_url": None},
        },
    }
    return shared_media_dir


def _redis_client():
    import redis

    return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=5)


def _redis_reachable() -> str | None:
    import redis

    try:
        _redis_client().ping()
    except redis.RedisError as exc:
        return f"Redis not reachable at {REDIS_URL} ({exc})"
    return None


@contextmanager
def redis_broker_worker(
    *, django_db_blocker, media_dir: Path, var_dir: Path, extra_env: dict[str, str] | None = None,
    queues: str = "photos",
) -> Iterator[WorkerProcess]:
    """A worker on Redis (own key prefix); while the block runs, this process publishes there too."""
    problem = _redis_reachable()
    require(problem is None, problem or "")
    prefix = f"eyespy-test-{uuid.uuid4().hex[:8]}:"
    with django_db_blocker.unblock():
        db_url = test_database_url()
    worker = start_worker(
        env={
            "DATABASE_URL": db_url,
            "CELERY_BROKER_URL": REDIS_URL,
            "CELERY_BROKER_KEY_PREFIX": prefix,
            "EYESPY_VAR_DIR": str(var_dir),
            "MEDIA_ROOT": str(media_dir),
            **(extra_env or {}),
        },
        log_path=var_dir / "worker.log",
        queues=queues,
    )
    try:
        worker.wait_ready()
        # Publish as the web does (its socket timeouts), into this run's own keys.
        options = {**django_settings.CELERY_BROKER_TRANSPORT_OPTIONS, "visibility_timeout": 3600, "global_keyprefix": prefix}
        with use_broker(REDIS_URL, options):
            yield worker
    finally:
        worker.stop()
        client = _redis_client()
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)


@pytest.fixture(scope="module")
def redis_worker(django_db_setup, django_db_blocker, shared_media_dir, tmp_path_factory):
    with redis_broker_worker(
        django_db_blocker=django_db_blocker,
        media_dir=shared_media_dir,
        var_dir=tmp_path_factory.mktemp("redis-worker-var"),
    ) as worker:
        yield worker


@pytest.fixture(scope="module")
def embedded_worker(django_db_setup, django_db_blocker, shared_media_dir, tmp_path_factory):
    """The zero-service default: the embedded Redis on a unix socket under var/, exactly as bin/run starts it."""
    var_dir = tmp_path_factory.mktemp("embedded-var")
    with django_db_blocker.unblock():
        db_url = test_database_url()
    with embedded_redis_worker(db_url=db_url, var_dir=var_dir, media_dir=shared_media_dir) as worker:
        yield worker
