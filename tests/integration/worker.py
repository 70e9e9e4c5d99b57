"""Start a real `celery worker` subprocess that shares this test run's database and media folder."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import quote

from django.conf import settings
from django.db import connection

from eyespy_site import embedded_redis
from tests.conftest import ROOT
from tests.integration.brokers import use_broker

PROCESS_TIMEOUT = 90  # seconds for a batch of small photos; generous because the machine is shared


def wait_for(predicate: Callable[[], bool], *, timeout: float, what: str, on_timeout: Callable[[], str] = str) -> None:
    """Poll `predicate` until it holds; fail with `what` (and extra diagnostics) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{on_timeout()}")
        time.sleep(0.1)


def test_database_url() -> str:
    """The test database (pytest-django's, e.g. test_eyespy) as a DATABASE_URL for the worker."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        name = str(db["NAME"])
        if name == ":memory:" or name.startswith("file:memorydb"):
            raise RuntimeError("the SQLite test database is in memory; a worker process can't share it")
        return f"sqlite:///{name}"
    if db["ENGINE"].endswith("postgresql"):
        auth = quote(db.get("USER") or "", safe="")
        if db.get("PASSWORD"):
            auth += ":" + quote(db["PASSWORD"], safe="")
        host = db.get("HOST") or "127.0.0.1"
        port = db.get("PORT") or 5432
        return f"postgres://{auth}@{host}:{port}/{db['NAME']}"
    raise RuntimeError(f"unsupported test database engine {db['ENGINE']}")


test_database_url.__test__ = False  # not a test, despite the name


@dataclass
class WorkerProcess:
    proc: subprocess.Popen
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    queues: str = "photos"
    concurrency: int = 1
    beat: bool = False
    broker: embedded_redis.EmbeddedRedis | None = None
    log_offset: int = 0  # where this worker's lines start in a log file that a respawn shares

    def log(self) -> str:
        if not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as fh:
            fh.seek(self.log_offset)
            return fh.read().decode(errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_ready(self, timeout: float = 60) -> None:
        def ready() -> bool:
            if not self.alive():
                raise AssertionError(f"celery worker exited with {self.proc.returncode}:\n{self.log()[-4000:]}")
            return " ready." in self.log()

        wait_for(ready, timeout=timeout, what="the celery worker to be ready", on_timeout=lambda: self.log()[-4000:])

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool children), as the OOM killer or a power cut would."""
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def respawn(self) -> "WorkerProcess":
        """A new worker with the same settings, logging to the same file (what bin/run's supervisor does)."""
        worker = start_worker(env=self.env, log_path=self.log_path, concurrency=self.concurrency, queues=self.queues,
                              beat=self.beat)
        worker.broker = self.broker
        return worker

    def stop(self) -> None:
        """Warm shutdown (SIGTERM to the worker's own process group), then SIGKILL if it hangs."""
        if not self.alive():
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


def start_worker(
    *, env: dict[str, str], log_path: Path, concurrency: int = 1, queues: str = "photos", beat: bool = False
) -> WorkerProcess:
    """`celery -A eyespy_site worker --pool prefork` in its own process group (so it can be stopped whole).

    beat=True embeds beat (the periodic sweeper), as bin/run's worker does."""
    full_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SETTINGS_MODULE": "eyespy_site.settings",
        "PYTHONPATH": str(ROOT),
        "PYTHONDONTWRITEBYTECODE": "1",
        "OMP_NUM_THREADS": "1",
        "STORAGE_BACKEND": "local",
        **env,
    }
    cmd = [
        sys.executable, "-m", "celery", "-A", "eyespy_site", "worker",
        "--pool", "prefork", "-c", str(concurrency), "--prefetch-multiplier", "1",
        "-Q", queues, "-n", f"test-{os.getpid()}-{time.monotonic_ns()}@%h",
        "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info",
    ]
    if beat:
        cmd += ["-B", "--schedule", str(log_path.parent / "celerybeat-schedule")]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    offset = log_path.stat().st_size if log_path.exists() else 0
    log = log_path.open("ab")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()  # the child keeps its own handle
    return WorkerProcess(proc=proc, log_path=log_path, env=env, queues=queues, concurrency=concurrency, beat=beat,
                         log_offset=offset)


@contextmanager
def embedded_redis_worker(
    *, db_url: str, var_dir: Path, media_dir: Path, queues: str = "photos", extra_env: dict[str, str] | None = None,
    concurrency: int = 1, beat: bool = False, tcp: bool = False,
) -> Iterator[WorkerProcess]:
    """The zero-service default: the embedded Redis on `var_dir/run/redis.sock`, started by the same
    helper bin/run uses, and a worker that finds it from EYESPY_VAR_DIR alone, exactly as settings build it.

    tcp=True: the same server also listens on a free 127.0.0.1 port, and everyone uses that
    (CELERY_BROKER_URL=redis://...), as production does with its own Redis; a test may stop this one.

    While the block runs, this test process publishes there too. `worker.broker` is the Redis server.
    """
    server = embedded_redis.start(var_dir, tcp_port=free_port() if tcp else 0)
    url = server.tcp_url if tcp else server.url
    worker = start_worker(
        env={
            "DATABASE_URL": db_url,
            "EYESPY_VAR_DIR": str(var_dir),
            "MEDIA_ROOT": str(media_dir),
            **({"CELERY_BROKER_URL": url} if tcp else {}),
            **(extra_env or {}),  # e.g. STORAGE_BACKEND=s3 and its AWS_* values
        },
        log_path=var_dir / "worker.log",
        queues=queues,
        concurrency=concurrency,
        beat=beat,
    )
    worker.broker = server
    try:
        worker.wait_ready()
        with use_broker(url, dict(settings.CELERY_BROKER_TRANSPORT_OPTIONS)):
            yield worker
    finally:
        worker.stop()
        server.stop()
        if worker.broker is not None and worker.broker is not server:  # a test restarted Redis: stop that one too
            worker.broker.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_settled(worker: WorkerProcess, photo_ids: Iterable[int], *, timeout: float = PROCESS_TIMEOUT) -> None:
    """Wait until none of the photos is queued or processing; on timeout show their rows and the worker log."""
    from sessions_app.models import Photo

    ids = list(photo_ids)

    def settled() -> bool:
        return not Photo.objects.filter(pk__in=ids, status__in=[Photo.Status.QUEUED, Photo.Status.PROCESSING]).exists()

    def diagnostics() -> str:
        rows = list(Photo.objects.filter(pk__in=ids).values_list("original_filename", "status", "error"))
        return f"photos: {rows}\nworker log:\n{worker.log()[-3000:]}"

    wait_for(settled, timeout=timeout, what="the worker to process the photos", on_timeout=diagnostics)
