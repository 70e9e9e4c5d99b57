"""bin/run's supervisor (eyespy_site/supervisor.py) as a real process tree: Redis, worker, web server.

A SIGKILLed worker is restarted (logged, with a back-off), and SIGTERM to the supervisor's own pid stops
the web server, the worker and Redis. Its own scratch install (SQLite and media under a temp var/).
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from eyespy_site import embedded_redis
from tests.conftest import ROOT
from tests.integration.worker import wait_for


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def scratch_env(tmp_path_factory):
    var = tmp_path_factory.mktemp("sup-var")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SETTINGS_MODULE": "eyespy_site.settings", "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1", "EYESPY_VAR_DIR": str(var),
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=300)
    return env, var


def _tree(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _worker_pid(var: Path) -> int:
    return int((var / "run" / "worker.pid").read_text())


def test_worker_that_dies_is_restarted_and_sigterm_stops_everything(scratch_env):
    env, var = scratch_env
    port = _free_port()
    out = var / "supervisor.out"
    with out.open("wb") as fh:
        sup = subprocess.Popen([sys.executable, "-m", "eyespy_site.supervisor", "--port", str(port), "--concurrency", "1",
                                "--banner", "EYESPY-READY"], cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT,
                               start_new_session=True)
    log = lambda: out.read_text(errors="replace")  # noqa: E731
    seen: list[psutil.Process] = []  # everything it started, killed in `finally` if the test fails midway
    try:
        wait_for(lambda: "EYESPY-READY" in log(), timeout=120, what="the supervisor's banner", on_timeout=log)
        assert embedded_redis.ping(embedded_redis.socket_path(var))
        first = _worker_pid(var)
        seen += _tree(sup.pid)

        os.killpg(first, signal.SIGKILL)  # the whole worker, as the OOM killer might
        wait_for(lambda: "restarting it in 1 s" in log(), timeout=30, what="the restart to be logged", on_timeout=log)
        wait_for(lambda: log().count("worker ready") == 2, timeout=120, what="the new worker", on_timeout=log)
        second = _worker_pid(var)
        assert second != first and psutil.pid_exists(second)
        assert f"the worker (pid {first}) exited with -9" in log()
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass  # the web server kept running throughout

        children = _tree(sup.pid)
        seen += children
        assert len(children) >= 3  # redis, worker (+ its pool), web
        sup.send_signal(signal.SIGTERM)  # to its own pid, as `kill $(pgrep -f bin/run)` would
        assert sup.wait(timeout=90) == 130
        gone, alive = psutil.wait_procs(children, timeout=30)
        assert alive == [], alive
        assert not embedded_redis.ping(embedded_redis.socket_path(var))
        assert "stopped" in log() and not (var / "run" / "worker.pid").exists()
    finally:
        if sup.poll() is None:
            os.killpg(sup.pid, signal.SIGKILL)
        for proc in seen + _tree(sup.pid):
            try:
                proc.kill()
            except psutil.NoSuchProcess:
                pass
