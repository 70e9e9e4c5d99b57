"""A bounded loopback load test: several photographers upload camera-size JPEGs at once, as upload.js does.

Runs the production web server (gunicorn, the Dockerfile's command, on 127.0.0.1 only) and one real
worker exactly as bin/run starts it (prefork -c 2, embedded beat) in a scratch folder, then has each
photographer log in through the login form and upload their photos with --parallel requests in flight
(upload.js sends 3 at a time per tab). It then waits for the worker to finish and checks, per photo:
uploaded once (201), processed exactly once (status done, attempts == 1, one Prediction), none lost.

Stacks:
  default      the zero-service embedded defaults: SQLite, media on disk, the embedded Redis (unix socket)
  --postgres   PostgreSQL (127.0.0.1:5432, user postgres, a fresh database dropped afterwards) and the
               Redis at 127.0.0.1:6379 (db 14, a per-run key prefix, removed afterwards) as broker and cache

    .venv/bin/python bench/load_bench.py                               # 4 x 100 photos, embedded
    .venv/bin/python bench/load_bench.py --postgres --cpu-hog 1        # PostgreSQL + Redis, a busy core
    .venv/bin/python bench/load_bench.py --photographers 2 --photos 20 --json /tmp/small.json
    .venv/bin/python bench/load_bench.py --photographers 2 --photos 5 --freeze-broker 15   # + the frozen phase

Photos: --photos distinct camera-like 24 MP JPEGs (bench/make_photos.py frames, each copy with its own
JPEG comment, so every file differs), shared by the photographers (each uploads them into their own session).
Bounded: every request has a timeout, nothing is retried, the wait for the worker has --timeout, and only
127.0.0.1 is contacted. Prints a summary and writes JSON (default bench/results/load_bench[_postgres].json).

Frozen-broker phase (--freeze-broker SECONDS, after the first phase is processed): Redis is stopped with SIGSTOP
(its connections stay open and nothing answers, as a stalled VM or a Redis cut off by the network) for that
long while the photographers go on uploading other photos (--freeze-photos each, an upload starts only while
Redis is stopped), then resumed. Reported under "frozen_broker": the uploads' latency and errors while it was
stopped, how many answered before it was resumed, and the time from resuming to every photo processed.
The broker frozen is always one this run started: the embedded Redis, or with --postgres a private Redis on a
free 127.0.0.1 port (never the shared one).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script: `python bench/load_bench.py`
from eyespy_site import embedded_redis  # noqa: E402
from eyespy_site.supervisor import worker_command  # noqa: E402

PYTHON = REPO / ".venv" / "bin" / "python"
DEFAULT_WORK = Path(tempfile.gettempdir()) / "eyespy-load-bench"
RESULTS = REPO / "bench" / "results"
HOST = "127.0.0.1"  # the only address this benchmark talks to
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/14"
PASSWORD = "load-bench-password-42"
REQUEST_TIMEOUT = 120  # seconds per upload request


# --- photos -------------------------------------------------------------------------------------------


def prepare_photos(work: Path, n: int, base_photos: Path, base_n: int, *, prefix: str = "IMG") -> list[Path]:
    """n distinct camera-size JPEGs named <prefix>_NNNN.jpg (a session keeps one copy of the same bytes, so
    each phase has its own)."""
    sys.path.insert(0, str(REPO / "bench"))
    import make_photos
    from session_bench import _with_comment

    frames = make_photos.make_photos(base_photos, base_n)
    out = work / ("photos" if prefix == "IMG" else f"photos-{prefix.lower()}")
    stamp = out / f".made-{n}-{len(frames)}"
    if not stamp.exists():
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        data = [f.read_bytes() for f in frames]
        for i in range(n):
            text = f"eyespy load bench {prefix} copy {i}"
            (out / f"{prefix}_{i:04d}.jpg").write_bytes(_with_comment(data[i % len(data)], text))
        stamp.touch()
    return sorted(out.glob(f"{prefix}_*.jpg"))[:n]


# --- the stack ----------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass
class Stack:
    work: Path
    postgres: bool
    gunicorn_workers: int
    gunicorn_threads: int
    concurrency: int
    private_broker: bool = False  # --postgres: a Redis of this run's own (over TCP) that it may stop
    env: dict[str, str] = field(default_factory=dict)
    procs: list[tuple[str, subprocess.Popen]] = field(default_factory=list)
    broker: embedded_redis.EmbeddedRedis | None = None
    cleanups: list = field(default_factory=list)
    port: int = 0

    def build_env(self) -> None:
        var = self.work / "var"
        shutil.rmtree(var, ignore_errors=True)
        (var / "log").mkdir(parents=True)
        keep = ("PATH", "HOME", "LANG")
        self.env = {k: os.environ[k] for k in keep if k in os.environ}
        self.env.update(
            EYESPY_VAR_DIR=str(var), DJANGO_SETTINGS_MODULE="eyespy_site.settings", PYTHONPATH=str(REPO),
            OMP_NUM_THREADS="1", TF_CPP_MIN_LOG_LEVEL="2", PYTHONDONTWRITEBYTECODE="1", DEBUG="true",
            EYESPY_ALLOW_SIGNUP="false", LOG_LEVEL="WARNING",
        )
        if self.postgres:
            name = f"eyespy_load_{uuid.uuid4().hex[:8]}"
            import psycopg

            with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            self.cleanups.append(lambda: _drop_database(name))
            prefix = f"eyespy-load-{uuid.uuid4().hex[:8]}:"
            self.env.update(DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{name}", CELERY_BROKER_URL=REDIS_URL,
                            CELERY_BROKER_KEY_PREFIX=prefix, CACHE_URL=REDIS_URL)
            self.cleanups.append(lambda: _drop_redis_keys(prefix))

    def manage(self, *args: str) -> str:
        proc = subprocess.run([str(PYTHON), "manage.py", *args], cwd=REPO, env=self.env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"manage.py {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr[-3000:]}")
        return proc.stdout

    def _spawn(self, name: str, cmd: list[str]) -> subprocess.Popen:
        log = (self.work / "var" / "log" / f"{name}.log").open("ab")
        proc = subprocess.Popen(cmd, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        self.procs.append((name, proc))
        return proc

    def start(self) -> None:
        self.build_env()
        self.manage("migrate", "--noinput")
        self.manage("ensure_default_model")
        var = self.work / "var"
        if not self.postgres:
            self.broker = embedded_redis.start(var)
        elif self.private_broker:
            self.broker = embedded_redis.start(var, tcp_port=free_port())
            self.env["CELERY_BROKER_URL"] = self.broker.tcp_url
        self._spawn("worker", worker_command(concurrency=self.concurrency, var_dir=var))
        self.port = free_port()
        self._spawn("gunicorn", [
            str(REPO / ".venv" / "bin" / "gunicorn"), "eyespy_site.wsgi:application", "--bind", f"{HOST}:{self.port}",
            "--workers", str(self.gunicorn_workers), "--worker-class", "gthread", "--threads", str(self.gunicorn_threads),
            "--timeout", "120",
        ])
        deadline = time.monotonic() + 120
        worker_log = var / "log" / "worker.log"
        while not (worker_log.exists() and " ready." in worker_log.read_text(errors="replace") and self._listening()):
            for name, proc in self.procs:
                if proc.poll() is not None:
                    raise SystemExit(f"{name} exited:\n{self.log(name)[-3000:]}")
            if time.monotonic() > deadline:
                raise SystemExit("the stack did not start in 120 s")
            time.sleep(0.2)

    def _listening(self) -> bool:
        try:
            with socket.create_connection((HOST, self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def log(self, name: str) -> str:
        path = self.work / "var" / "log" / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        for name, proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=10)
        if self.broker is not None:
            self.broker.thaw()  # a run stopped mid-freeze
            self.broker.stop()
        for cleanup in reversed(self.cleanups):
            try:
                cleanup()
            except Exception as exc:  # best effort; say what was left behind
                print(f"cleanup failed: {exc}", file=sys.stderr)


def _drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _drop_redis_keys(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)


# --- the CPU hog ----------------------------------------------------------------------------------------


def _hog(stop_at: float) -> None:
    x = 0
    while time.time() < stop_at:  # bounded: ends by itself even if the parent is killed
        for _ in range(100_000):
            x = (x * 31 + 7) % 1_000_003


def start_hogs(n: int, max_seconds: float) -> list[mp.Process]:
    hogs = [mp.get_context("fork").Process(target=_hog, args=(time.time() + max_seconds,), daemon=True) for _ in range(n)]
    for h in hogs:
        h.start()
    return hogs


# --- the photographers ----------------------------------------------------------------------------------


@dataclass
class Result:
    photographer: int
    name: str
    status: int
    seconds: float
    error: str = ""
    started_at: float = 0.0  # time.time()


def make_photographers(stack: Stack, n: int) -> list[tuple[str, str]]:
    """(email, session uuid) per photographer, made through the ORM in a child process (same settings)."""
    code = f"""
import django, json
django.setup()
from sessions_app.models import PhotoSession, User
out = []
for i in range({n}):
    user = User.objects.create_user(email=f"bench{{i}}@eyespy.local", password={PASSWORD!r}, name=f"Bench {{i}}")
    out.append((user.email, str(PhotoSession.objects.create(owner=user, title=f"Load bench {{i}}").uuid)))
print(json.dumps(out))
"""
    proc = subprocess.run([str(PYTHON), "-c", code], cwd=REPO, env=stack.env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"could not create photographers:\n{proc.stderr[-3000:]}")
    return [tuple(item) for item in json.loads(proc.stdout.strip().splitlines()[-1])]


def logged_in(base: str, email: str):
    import requests

    s = requests.Session()
    page = s.get(f"{base}/accounts/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    resp = s.post(f"{base}/accounts/login/", data={"username": email, "password": PASSWORD, "csrfmiddlewaretoken": token},
                  headers={"Referer": f"{base}/accounts/login/"}, timeout=30, allow_redirects=False)
    if resp.status_code != 302:
        raise SystemExit(f"login failed for {email}: {resp.status_code}")
    return s


def upload_all(base: str, photographers: list[tuple[str, str]], photos: list[Path], parallel: int, *,
               start_while: threading.Event | None = None, on_ready=None) -> list[Result]:
    """Each photographer: one logged-in HTTP session, `parallel` uploads in flight (like upload.js).
    `on_ready()` runs once everyone is logged in, before the first upload; `start_while`: an upload starts
    only while this is set (the others are skipped and not reported)."""
    results: list[Result] = []
    lock = threading.Lock()

    def one(index: int, client, session_uuid: str, path: Path) -> None:
        if start_while is not None and not start_while.is_set():
            return
        started, started_at = time.perf_counter(), time.time()
        try:
            with path.open("rb") as fh:
                resp = client.post(
                    f"{base}/sessions/{session_uuid}/upload/",
                    files={"file": (path.name, fh, "image/jpeg")},
                    headers={"Accept": "application/json", "X-CSRFToken": client.cookies.get("csrftoken", ""),
                             "Referer": f"{base}/sessions/{session_uuid}/"},
                    timeout=REQUEST_TIMEOUT,
                )
            status, error = resp.status_code, "" if resp.status_code == 201 else resp.text[:200]
        except Exception as exc:  # a timeout or a dropped connection is an error, not a retry
            status, error = 0, f"{type(exc).__name__}: {exc}"[:200]
        with lock:
            results.append(Result(index, path.name, status, time.perf_counter() - started, error, started_at))

    clients = []
    for email, session_uuid in photographers:
        client = logged_in(base, email)
        client.get(f"{base}/sessions/{session_uuid}/", timeout=30)  # the session page sets the CSRF cookie
        clients.append((client, session_uuid))
    if on_ready is not None:
        on_ready()
    pools = [ThreadPoolExecutor(max_workers=parallel) for _ in clients]
    futures = [pool.submit(one, i, client, session_uuid, path)
               for path in photos for i, (pool, (client, session_uuid)) in enumerate(zip(pools, clients))]
    for future in futures:
        future.result()
    for pool in pools:
        pool.shutdown()
    return results


def check_photos(stack: Stack, photographers, timeout: float, prefix: str = "IMG_") -> dict:
    """Wait until no photo is queued/processing (bounded), then report exactly-once facts (photos named prefix*)."""
    code = """
import django, json, sys, time
django.setup()
from django.db.models import Count, Max, Min
from classifier.models import Prediction
from sessions_app.models import Photo
uuids = json.loads(sys.argv[1]); deadline = time.monotonic() + float(sys.argv[2])
photos = Photo.objects.filter(session__uuid__in=uuids, original_filename__startswith=sys.argv[3])
while photos.filter(status__in=["queued", "processing"]).exists() and time.monotonic() < deadline:
    time.sleep(0.5)
rows = list(photos.annotate(n_pred=Count("predictions")).values("status", "attempts", "n_pred", "error"))
span = photos.aggregate(first=Min("created_at"), first_done=Min("finished_at"), last=Max("finished_at"))
print(json.dumps({"rows": rows, **{k: v.isoformat() if v else None for k, v in (
    ("first_created", span["first"]), ("first_finished", span["first_done"]), ("last_finished", span["last"]))}}))
"""
    uuids = json.dumps([s for _, s in photographers])
    proc = subprocess.run([str(PYTHON), "-c", code, uuids, str(timeout), prefix], cwd=REPO, env=stack.env,
                          capture_output=True, text=True, timeout=timeout + 120)
    if proc.returncode != 0:
        raise SystemExit(f"could not read the photos:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def frozen_broker_phase(stack: Stack, base: str, photographers, photos: list[Path], parallel: int, seconds: float,
                        timeout: float) -> dict:
    """SIGSTOP the broker for `seconds` while uploads go on, resume it, wait for every photo (module doc)."""
    frozen = threading.Event()
    thawed_at: list[float] = []

    def freeze() -> None:
        stack.broker.freeze()
        frozen.set()
        timer.start()

    def thaw() -> None:
        if frozen.is_set():
            frozen.clear()  # no upload starts after this
            stack.broker.thaw()
            thawed_at.append(time.time())

    timer = threading.Timer(seconds, thaw)
    log_start = len(stack.log("worker"))
    try:
        results = upload_all(base, photographers, photos, parallel, start_while=frozen, on_ready=freeze)
        timer.join()  # the freeze lasts `seconds` even if the photos ran out sooner
    finally:
        timer.cancel()
        thaw()
    facts = check_photos(stack, photographers, timeout, prefix="FRZ_")

    def after_resume(iso: str | None) -> float | None:
        return round(datetime.fromisoformat(iso).timestamp() - thawed_at[0], 1) if iso else None
    resent = re.findall(r"re-sent (\d+) unsent photo", stack.log("worker")[log_start:])
    return {
        "broker": "embedded redis (unix socket)" if not stack.postgres else "private redis over tcp",
        "frozen_s": seconds,
        "uploads_started_while_frozen": len(results),
        "answered_while_frozen": sum(1 for r in results if r.started_at + r.seconds < thawed_at[0]),
        **_upload_stats(results),
        "resumed_to_first_processed_s": after_resume(facts["first_finished"]),
        "resumed_to_all_processed_s": after_resume(facts["last_finished"]),
        **_photo_stats(facts["rows"], uploaded=sum(1 for r in results if r.status == 201)),
        "worker_resent": sum(int(n) for n in resent),
    }


def _upload_stats(results: list[Result]) -> dict:
    statuses: dict[str, int] = {}
    for r in results:
        statuses[str(r.status)] = statuses.get(str(r.status), 0) + 1
    latencies = [r.seconds for r in results]
    return {
        "requests": len(results),
        "request_statuses": statuses,
        "errors": sum(1 for r in results if r.status != 201),
        "error_samples": sorted({r.error for r in results if r.error})[:5],
        "latency_s": {"p50": _pct(latencies, 0.5), "p95": _pct(latencies, 0.95), "max": _pct(latencies, 1.0)},
    }


def _photo_stats(rows: list[dict], *, uploaded: int) -> dict:
    by_status: dict[str, int] = {}
    for row in rows:
        by_status[row["status"]] = by_status.get(row["status"], 0) + 1
    return {
        "photos_stored": len(rows),
        "photo_statuses": by_status,
        "lost": uploaded - sum(1 for row in rows if row["status"] == "done"),
        "processed_exactly_once": sum(1 for row in rows if row["status"] == "done" and row["attempts"] == 1 and row["n_pred"] == 1),
        "attempts_over_1": sum(1 for row in rows if row["attempts"] > 1),
        "predictions_not_1": sum(1 for row in rows if row["n_pred"] != 1),
        "failed_reasons": sorted({row["error"] for row in rows if row["error"]})[:5],
    }


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))], 3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photographers", type=int, default=4)
    parser.add_argument("--photos", type=int, default=100, help="photos per photographer (default 100)")
    parser.add_argument("--parallel", type=int, default=3, help="uploads in flight per photographer (upload.js: 3)")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL + Redis instead of the embedded defaults")
    parser.add_argument("--cpu-hog", type=int, default=0, metavar="N", help="N busy processes during the run")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes (bin/run: 2)")
    parser.add_argument("--gunicorn-workers", type=int, default=3, help="as the Dockerfile (3 x 4 threads)")
    parser.add_argument("--gunicorn-threads", type=int, default=4)
    parser.add_argument("--base-photos", type=Path, default=Path(tempfile.gettempdir()) / "eyespy-bench-photos")
    parser.add_argument("--base-n", type=int, default=12, help="distinct generated frames (default 12)")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK)
    parser.add_argument("--timeout", type=float, default=1800, help="most seconds to wait for the worker")
    parser.add_argument("--freeze-broker", type=float, default=0, metavar="SECONDS",
                        help="then the frozen-broker phase: Redis SIGSTOPped this long during uploads (module doc)")
    parser.add_argument("--freeze-photos", type=int, default=40, help="photos each may upload while it is frozen")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.work.resolve().is_relative_to(REPO):
        raise SystemExit("--work must be outside the repository")
    if not 0 <= args.freeze_broker <= 600:
        raise SystemExit("--freeze-broker must be between 0 and 600 seconds")
    for name in ("photographers", "photos", "parallel", "freeze_photos"):
        if not 1 <= getattr(args, name) <= 1000:
            raise SystemExit(f"--{name.replace('_', '-')} must be between 1 and 1000")
    out_json = args.json or RESULTS / ("load_bench_postgres.json" if args.postgres else "load_bench.json")

    print("preparing photos...", flush=True)
    photos = prepare_photos(args.work, args.photos, args.base_photos, args.base_n)
    freeze_photos = (prepare_photos(args.work, args.freeze_photos, args.base_photos, args.base_n, prefix="FRZ")
                     if args.freeze_broker else [])
    mean_mb = sum(p.stat().st_size for p in photos) / len(photos) / 1e6
    stack = Stack(work=args.work, postgres=args.postgres, gunicorn_workers=args.gunicorn_workers,
                  gunicorn_threads=args.gunicorn_threads, concurrency=args.concurrency,
                  private_broker=args.postgres and bool(args.freeze_broker))
    hogs: list[mp.Process] = []
    load_before = os.getloadavg()
    try:
        print(f"starting {'PostgreSQL + Redis' if args.postgres else 'embedded'} stack...", flush=True)
        stack.start()
        base = f"http://{HOST}:{stack.port}"
        photographers = make_photographers(stack, args.photographers)
        hogs = start_hogs(args.cpu_hog, args.timeout + 600)
        total = args.photographers * len(photos)
        print(f"uploading {total} photos ({mean_mb:.1f} MB each): {args.photographers} photographers x "
              f"{len(photos)}, {args.parallel} in flight each, {args.cpu_hog} CPU hog(s)...", flush=True)
        t0 = time.time()
        results = upload_all(base, photographers, photos, args.parallel)
        upload_s = time.time() - t0
        print(f"uploads done in {upload_s:.1f} s; waiting for the worker...", flush=True)
        facts = check_photos(stack, photographers, args.timeout)
        wall_s = time.time() - t0
        frozen = None
        if args.freeze_broker:
            print(f"frozen-broker phase: Redis stopped for {args.freeze_broker:.0f} s while uploading...", flush=True)
            frozen = frozen_broker_phase(stack, base, photographers, freeze_photos, args.parallel, args.freeze_broker,
                                         args.timeout)
        alive = {name: proc.poll() is None for name, proc in stack.procs}
        worker_log = stack.log("worker")
    finally:
        for h in hogs:
            h.terminate()
        stack.stop()
    load_after = os.getloadavg()

    rows = facts["rows"]
    e2e = None
    if facts["first_created"] and facts["last_finished"]:
        e2e = (datetime.fromisoformat(facts["last_finished"]) - datetime.fromisoformat(facts["first_created"])).total_seconds()
    report = {
        "stack": "postgresql+redis" if args.postgres else "embedded (sqlite + embedded redis)",
        "photographers": args.photographers,
        "photos_each": len(photos),
        "parallel_each": args.parallel,
        "cpu_hogs": args.cpu_hog,
        "mean_file_mb": round(mean_mb, 2),
        **_upload_stats(results),
        "upload_phase_s": round(upload_s, 1),
        "end_to_end_s": round(e2e, 1) if e2e is not None else None,
        "wall_s": round(wall_s, 1),
        **_photo_stats(rows, uploaded=total),
        "processes_alive_at_end": alive,
        "worker_unrecoverable_errors": worker_log.count("Unrecoverable error"),
        "photos_per_s_end_to_end": round(total / e2e, 2) if e2e else None,
        "gunicorn": f"{args.gunicorn_workers} workers x {args.gunicorn_threads} threads",
        "worker_concurrency": args.concurrency,
        "cpus": os.cpu_count(),
        "loadavg_before": [round(v, 2) for v in load_before],
        "loadavg_after": [round(v, 2) for v in load_after],
        "measured_at": datetime.now().isoformat(timespec="seconds"),
    }
    report["ok"] = (report["errors"] == 0 and report["lost"] == 0 and report["processed_exactly_once"] == total
                    and all(alive.values()))
    if frozen is not None:
        frozen["ok"] = (frozen["errors"] == 0 and frozen["lost"] == 0
                        and frozen["processed_exactly_once"] == frozen["requests"])
        report["frozen_broker"] = frozen
        report["ok"] = report["ok"] and frozen["ok"]
    print(json.dumps(report, indent=1))
    if frozen is not None:
        print(f"frozen broker ({frozen['broker']}, {frozen['frozen_s']:.0f} s): {frozen['requests']} uploads, "
              f"p95 {frozen['latency_s']['p95']} s, {frozen['errors']} errors, {frozen['answered_while_frozen']} "
              f"answered while frozen; all processed {frozen['resumed_to_all_processed_s']} s after resuming")
    out_json.parent.mkdir(parents=True, exist_ok=True)
    out_json.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {out_json}")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
