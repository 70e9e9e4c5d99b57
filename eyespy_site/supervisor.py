"""What `bin/run` runs after installing: the embedded Redis, a supervised Celery worker and the web server.

    python -m eyespy_site.supervisor --port 8000 [--banner TEXT]

Why a supervisor: a worker that dies (a crash, the OOM killer) must not leave photos "waiting" with
nobody to do them. The worker is restarted with a back-off (1 s, doubling to 60 s, reset after a
minute of healthy running), and every restart is logged. Before each start, photos that were in flight
are re-queued: no worker is alive at that moment, so nothing "processing" is really being worked on.

Ctrl-C (SIGINT) or SIGTERM to this process stops the web server, then the worker (warm: it finishes
its current photos, up to 30 s), then Redis (which flushes its append-only file). If the web server
exits, everything stops. Each child runs in its own session, so a terminal's Ctrl-C reaches only us.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from . import embedded_redis

ROOT = Path(__file__).resolve().parent.parent
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 60.0
HEALTHY_AFTER = 60.0  # a worker that ran this long resets the back-off
WORKER_READY_TIMEOUT = 120.0
WORKER_STOP_TIMEOUT = 30.0


def log(message: str) -> None:
    print(f"[bin/run {time.strftime('%H:%M:%S')}] {message}", flush=True)


def worker_command(*, concurrency: int, var_dir: Path) -> list[str]:
    # -B embeds beat (the stuck-work sweeper every 2 minutes); gossip/mingle/heartbeat are for clusters.
    return [
        str(Path(sys.executable).parent / "celery"), "-A", "eyespy_site", "worker",
        "--pool", "prefork", "--concurrency", str(concurrency),
        "--prefetch-multiplier", "1",  # recycling after N tasks: CELERY_WORKER_MAX_TASKS_PER_CHILD
        "-Q", "zooms,photos,exports,training",
        "-B", "--schedule", str(var_dir / "celerybeat-schedule"),
        "--without-gossip", "--without-mingle", "--without-heartbeat",
        "--loglevel", "INFO",
    ]


def _stop_group(proc: subprocess.Popen, *, timeout: float, name: str) -> None:
    """SIGTERM to the child's process group, SIGKILL to the group if it is still there after `timeout`."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            log(f"the {name} did not stop in {timeout:.0f} s; killing it")
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=10)


@dataclass
class Supervisor:
    var_dir: Path
    port: int
    concurrency: int
    banner: str = ""
    python: str = sys.executable
    redis: embedded_redis.EmbeddedRedis | None = None
    worker: subprocess.Popen | None = None
    web: subprocess.Popen | None = None
    worker_started: float = 0.0
    backoff: float = BACKOFF_FIRST
    restart_at: float | None = None
    stopping: bool = False

    @property
    def worker_log(self) -> Path:
        return self.var_dir / "log" / "worker.log"

    @property
    def worker_pidfile(self) -> Path:
        return self.var_dir / "run" / "worker.pid"

    def _manage(self, *args: str) -> None:
        subprocess.run([self.python, str(ROOT / "manage.py"), *args], check=True, cwd=ROOT)

    # --- children ----------------------------------------------------------------------------------

    def start_redis(self) -> None:
        if os.environ.get("CELERY_BROKER_URL"):
            return  # an external broker: nothing to start
        self.redis = embedded_redis.start(self.var_dir)
        log(f"embedded Redis on {self.redis.socket} (log: {self.redis.log_path})")

    def start_worker(self) -> None:
        # No worker is alive now, so whatever is "processing" was left by a dead one: take it back.
        self._manage("requeue_stuck", "--older-than", "0")
        offset = self.worker_log.stat().st_size if self.worker_log.exists() else 0
        with self.worker_log.open("ab") as out:
            self.worker = subprocess.Popen(
                worker_command(concurrency=self.concurrency, var_dir=self.var_dir), cwd=ROOT,
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )
        self.worker_started = time.monotonic()
        self.worker_pidfile.write_text(str(self.worker.pid))
        deadline = time.monotonic() + WORKER_READY_TIMEOUT
        while not self._worker_log_since(offset).count(" ready."):
            if self.stopping:
                return
            if self.worker.poll() is not None or time.monotonic() > deadline:
                tail = self._worker_log_since(offset)[-3000:]
                raise RuntimeError(f"the worker did not start; last lines of {self.worker_log}:\n{tail}")
            time.sleep(0.1)
        log(f"worker ready (pid {self.worker.pid}, log: {self.worker_log})")

    def _worker_log_since(self, offset: int) -> str:
        with self.worker_log.open("rb") as fh:
            fh.seek(offset)
            return fh.read().decode(errors="replace")

    def start_web(self) -> None:
        self.web = subprocess.Popen(
            [self.python, str(ROOT / "manage.py"), "serve_local", f"127.0.0.1:{self.port}", "--noreload"],
            cwd=ROOT, stdin=subprocess.DEVNULL, start_new_session=True,
        )

    # --- supervision ---------------------------------------------------------------------------------

    def check(self) -> int | None:
        """One supervision step. Returns an exit code when everything should stop."""
        if self.web is not None and self.web.poll() is not None:
            log(f"the web server exited with {self.web.returncode}; stopping everything")
            return self.web.returncode or 1
        if self.redis is not None and not self.redis.alive():
            log(f"the embedded Redis exited with {self.redis.proc.returncode}; restarting it "
                "(queued work is kept in its append-only file)")
            self.redis = embedded_redis.start(self.var_dir)
        if self.worker is not None and self.worker.poll() is not None and self.restart_at is None:
            ran = time.monotonic() - self.worker_started
            if ran > HEALTHY_AFTER:
                self.backoff = BACKOFF_FIRST
            log(f"the worker (pid {self.worker.pid}) exited with {self.worker.returncode} after {ran:.0f} s; "
                f"restarting it in {self.backoff:.0f} s (see {self.worker_log})")
            try:
                os.killpg(self.worker.pid, signal.SIGKILL)  # pool children it may have left behind
            except ProcessLookupError:
                pass
            self.restart_at = time.monotonic() + self.backoff
            self.backoff = min(BACKOFF_MAX, self.backoff * 2)
        if self.restart_at is not None and time.monotonic() >= self.restart_at:
            self.restart_at = None
            try:
                self.start_worker()
            except (RuntimeError, subprocess.CalledProcessError) as exc:
                log(f"worker restart failed: {exc}")
                # start_worker left self.worker dead: the next check schedules another try.
        return None

    def stop(self) -> None:
        if self.web is not None:
            _stop_group(self.web, timeout=10, name="web server")
        if self.worker is not None:
            if self.worker.poll() is None:
                log(f"stopping the worker (pid {self.worker.pid}); it finishes the photos it has")
            _stop_group(self.worker, timeout=WORKER_STOP_TIMEOUT, name="worker")
            self.worker_pidfile.unlink(missing_ok=True)
        if self.redis is not None:
            self.redis.stop()
        log("stopped")

    def run(self) -> int:
        def on_signal(signum, frame) -> None:
            self.stopping = True

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        code = 0
        try:
            self.start_redis()
            self.start_worker()
            if self.banner and not self.stopping:
                print(self.banner, flush=True)
            self.start_web()
            while not self.stopping:
                result = self.check()
                if result is not None:
                    code = result
                    break
                time.sleep(0.5)
            else:
                code = 130
        except (RuntimeError, subprocess.CalledProcessError) as exc:
            log(str(exc))
            code = 1
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the shutdown short
            self.stop()
        return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--concurrency", type=int, default=int(os.environ.get("EYESPY_WORKER_CONCURRENCY", "2")))
    parser.add_argument("--banner", default="", help="printed once the worker is ready")
    args = parser.parse_args(argv)
    var_dir = Path(os.environ.get("EYESPY_VAR_DIR", ROOT / "var")).resolve()
    os.environ["EYESPY_VAR_DIR"] = str(var_dir)  # the children build the same broker URL from it
    (var_dir / "log").mkdir(parents=True, exist_ok=True)
    (var_dir / "run").mkdir(parents=True, exist_ok=True)
    return Supervisor(var_dir=var_dir, port=args.port, concurrency=args.concurrency, banner=args.banner).run()


if __name__ == "__main__":
    sys.exit(main())
