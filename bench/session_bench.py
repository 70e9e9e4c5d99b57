"""How long a whole session takes on the embedded defaults: import N photos, let the real worker process them.

Runs Eye Spy exactly as `bin/run` does, in a scratch folder: SQLite, media on disk, the embedded Redis
broker (eyespy_site/embedded_redis.py) and ONE worker (prefork -c 2, prefetch 1, embedded beat). Photos are
imported with `manage.py import_session` WITHOUT --inline, so every photo goes through the broker to the worker.

Then, in the same run and on the same photos, the ceiling: what `bench/ml_bench.py --modes decode` measures
(read + decode + derivatives in a pool of --concurrency processes, nothing else). `ceiling_photos_per_s` and
`ratio` (= photos_per_s / ceiling_photos_per_s) say how much the analysis, broker, database and storage cost
per photo on top of the work nobody can skip. Then `--modes full` on the same photos (decode + derivatives +
analysis, no platform around it): `analysis_ceiling_photos_per_s` and `ratio_to_analysis_ceiling` say what
the platform alone costs. `cpu_ratio` and `cpu_ratio_to_analysis_ceiling` compare CPU time per photo instead
(the ceilings' against the worker's, the import's and the broker's together), which a busy neighbour on a
shared machine moves far less than wall-clock throughput. `--no-ceiling` skips both ceilings.

Photos: `--photos DIR` uses your files (the first N, folders searched recursively). Otherwise N unique
camera-like 24 MP JPEGs are made from the frames of bench/make_photos.py (12 by default, generated into
/tmp/eyespy-bench-photos on first use): copy k of frame f gets its own JPEG comment, so every file has a
different sha256 (no duplicate skipping) and exactly the decode cost of its frame.

    .venv/bin/python bench/session_bench.py                      # 600 photos
    .venv/bin/python bench/session_bench.py --n 50 --json /tmp/s50.json
    .venv/bin/python bench/session_bench.py --tiny --n 300       # 640x480 photos: broker/DB overhead per photo
    .venv/bin/python bench/session_bench.py --raw --json bench/results/session_bench_raw.json   # a RAW session

Prints a summary and writes JSON (default bench/results/session_bench.json). Times: `import_s` is the
import command (copy, hash, header check, enqueue); `enqueue_to_done_s` runs from the first photo's
enqueue to the last photo's finish (import and processing overlap); `processing_s` from the first claim to
the last finish; per-photo numbers come from each photo's started_at/finished_at and its prediction timings.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script: `python bench/session_bench.py`
from eyespy_site import embedded_redis  # noqa: E402

PYTHON = REPO / ".venv" / "bin" / "python"
DEFAULT_WORK = Path(tempfile.gettempdir()) / "eyespy-session-bench"
DEFAULT_JSON = REPO / "bench" / "results" / "session_bench.json"
OWNER = "demo@eyespy.local"


# --- photos -------------------------------------------------------------------------------------------


def _with_comment(jpeg: bytes, text: str) -> bytes:
    """The same JPEG with a COM segment placed after its APPn segments (EXIF stays first)."""
    if jpeg[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG")
    pos = 2
    while pos + 4 <= len(jpeg) and jpeg[pos] == 0xFF and 0xE0 <= jpeg[pos + 1] <= 0xEF:
        pos += 2 + int.from_bytes(jpeg[pos + 2 : pos + 4], "big")
    payload = text.encode()
    segment = b"\xff\xfe" + (len(payload) + 2).to_bytes(2, "big") + payload
    return jpeg[:pos] + segment + jpeg[pos:]


def _tiny_frames(out: Path, count: int) -> list[Path]:
    from PIL import Image

    out.mkdir(parents=True, exist_ok=True)
    frames = []
    for i in range(count):
        path = out / f"tiny_{i:03d}.jpg"
        if not path.exists():
            Image.effect_noise((640, 480), 40 + i).convert("RGB").save(path, "JPEG", quality=90)
        frames.append(path)
    return frames


def prepare_photos(args) -> list[Path]:
    if args.photos:
        files = sorted(p for p in Path(args.photos).rglob("*") if p.is_file() and not p.name.startswith("."))
        if len(files) < args.n:
            print(f"note: only {len(files)} files in {args.photos}", file=sys.stderr)
        return files[: args.n]
    if args.tiny:
        frames = _tiny_frames(args.work / "tiny-frames", args.base_n)
    else:
        sys.path.insert(0, str(REPO / "bench"))  # a sibling script, not a package
        import make_photos

        frames = make_photos.make_photos(args.base_photos, args.base_n)
    out = args.work / ("photos-tiny" if args.tiny else "photos")
    stamp = out / f".made-{args.n}-{len(frames)}"
    if not stamp.exists():
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        data = [f.read_bytes() for f in frames]
        for i in range(args.n):
            frame = i % len(frames)
            name = f"IMG_{i:04d}_{frames[frame].stem}.jpg"
            (out / name).write_bytes(_with_comment(data[frame], f"eyespy session bench copy {i}"))
        stamp.touch()
    photos = sorted(out.glob("IMG_*.jpg"))[: args.n]
    if args.raw:
        sys.path.insert(0, str(REPO / "bench"))
        import ml_bench

        return ml_bench.raw_copies(photos, out.parent / (out.name + "-raw"))
    return photos


# --- the app ------------------------------------------------------------------------------------------


def app_env(var: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "STORAGE_BACKEND", "MEDIA_ROOT")}
    env.update(
        EYESPY_VAR_DIR=str(var), DJANGO_SETTINGS_MODULE="eyespy_site.settings", PYTHONPATH=str(REPO),
        OMP_NUM_THREADS="1", TF_CPP_MIN_LOG_LEVEL="2", DEBUG="true",
    )
    return env


def manage(env, *args: str) -> str:
    proc = subprocess.run([str(PYTHON), "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def start_worker(env, var: Path, concurrency: int) -> tuple[subprocess.Popen, Path]:
    log = var / "log" / "worker.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        str(REPO / ".venv" / "bin" / "celery"), "-A", "eyespy_site", "worker",
        "--pool", "prefork", "--concurrency", str(concurrency), "--max-tasks-per-child", "200",
        "--prefetch-multiplier", "1", "-Q", "zooms,photos,exports,training", "-B", "--schedule", str(var / "celerybeat-schedule"),
        "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "INFO",
    ]
    with log.open("wb") as fh:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 120
    while " ready." not in log.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"worker did not start:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.1)
    return proc, log


def stop_worker(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # warm shutdown of the main process only
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def worker_rss_mb(proc: subprocess.Popen) -> dict[str, float]:
    try:
        import psutil
    except ImportError:
        return {}
    try:
        main = psutil.Process(proc.pid)
        children = main.children(recursive=True)
        return {
            "main": main.memory_info().rss / 2**20,
            "children_max": max((c.memory_info().rss for c in children), default=0) / 2**20,
        }
    except psutil.Error:
        return {}


def process_cpu_s(pid: int) -> float | None:
    """CPU seconds (user + system) a live process has used so far."""
    try:
        import psutil

        return sum(psutil.Process(pid).cpu_times()[:2])
    except Exception:  # psutil missing, or the process is gone
        return None


def children_cpu_s() -> float:
    """CPU seconds of this script's finished child processes (the import command)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def worker_cpu_s(proc: subprocess.Popen) -> tuple[float, float] | tuple[None, None]:
    """CPU seconds of (the pool children, recycled ones included; the main process: broker polling, beat)."""
    try:
        import psutil
    except ImportError:
        return None, None
    try:
        main = psutil.Process(proc.pid)
        times = main.cpu_times()
        live = sum(sum(c.cpu_times()[:2]) for c in main.children(recursive=True))
        return times.children_user + times.children_system + live, times.user + times.system
    except psutil.Error:
        return None, None


# --- measuring ----------------------------------------------------------------------------------------


def measure_ceiling(photos: list[Path], procs: int, mode: str = "decode") -> dict:
    """bench/ml_bench.py on these photos in `procs` forked processes, timed after a warm-up.

    mode "decode": read + ml.decode + ml.make_derivatives. Nothing the worker does per photo can be faster.
    mode "full": the same + ml.analyse, i.e. all of the worker's own work with no broker, database, storage
    or import around it: the gap between it and the session is what the platform costs."""
    import ml_bench  # a sibling script (bench/ is on sys.path)
    from ml import imaging

    what = "decode + derivatives" if mode == "decode" else "decode + derivatives + analysis"
    print(f"ceiling: {what} of the same {len(photos)} photos on {procs} processes...", flush=True)
    result = ml_bench.run_config(mode, procs, photos, repeat=1, max_side=imaging.WORKING_SIDE, pin=False)
    keys = ("images_per_s", "wall_s", "p50_ms", "p95_ms", "cpu_mean_ms", "stage_median_ms", "loadavg_1min")
    return {"procs": procs, "jobs": result["jobs"], **{k: result[k] for k in keys}}



def _ts(value: str | None) -> float | None:
    return datetime.fromisoformat(value).timestamp() if value else None


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(round(q * (len(values) - 1))))], 1)


def wait_until_done(db: Path, session_uuid: str, expected: int, timeout: float, proc) -> dict:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    session_id = conn.execute("SELECT id FROM sessions_app_photosession WHERE replace(uuid, '-', '') = ?",
                              (session_uuid.replace("-", ""),)).fetchone()[0]
    deadline = time.monotonic() + timeout
    last_print = 0.0
    peak = {"main": 0.0, "children_max": 0.0}
    while True:
        counts = dict(conn.execute(
            "SELECT status, count(*) FROM sessions_app_photo WHERE session_id = ? GROUP BY status", (session_id,)
        ).fetchall())
        for key, value in worker_rss_mb(proc).items():
            peak[key] = max(peak[key], value)
        pending = counts.get("queued", 0) + counts.get("processing", 0)
        if time.monotonic() - last_print > 10:
            print(f"  {counts}", flush=True)
            last_print = time.monotonic()
        if pending == 0 and sum(counts.values()) >= expected:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out with {counts}")
        time.sleep(0.25)
    rows = conn.execute(
        "SELECT p.created_at, p.started_at, p.finished_at, p.status, p.error, pr.verdict, pr.details "
        "FROM sessions_app_photo p LEFT JOIN classifier_prediction pr ON pr.photo_id = p.id WHERE p.session_id = ?",
        (session_id,),
    ).fetchall()
    conn.close()
    return {"rows": rows, "peak_rss_mb": {k: round(v, 1) for k, v in peak.items()}}


def summarise(rows, *, import_s: float, wall_s: float, n_files: int, concurrency: int) -> dict:
    created = [_ts(r[0]) for r in rows]
    started = [_ts(r[1]) for r in rows if r[1]]
    finished = [_ts(r[2]) for r in rows if r[2]]
    task_ms = [(_ts(r[2]) - _ts(r[1])) * 1000 for r in rows if r[1] and r[2]]
    timings: dict[str, list[float]] = {}
    verdicts: dict[str, int] = {}
    for row in rows:
        if row[5]:
            verdicts[row[5]] = verdicts.get(row[5], 0) + 1
        if row[6]:
            for key, value in (json.loads(row[6]).get("timings_ms") or {}).items():
                timings.setdefault(key, []).append(float(value))
    statuses: dict[str, int] = {}
    for row in rows:
        statuses[row[3]] = statuses.get(row[3], 0) + 1
    processing_s = max(finished) - min(started) if started and finished else None
    enqueue_to_done_s = max(finished) - min(created) if finished else None
    busy_s = sum(task_ms) / 1000
    return {
        "files": n_files,
        "photos": len(rows),
        "statuses": statuses,
        "errors": sorted({r[4] for r in rows if r[4]})[:10],
        "verdicts": verdicts,
        "import_s": round(import_s, 1),
        "enqueue_to_done_s": round(enqueue_to_done_s, 1) if enqueue_to_done_s else None,
        "processing_s": round(processing_s, 1) if processing_s else None,
        "wall_s": round(wall_s, 1),
        "photos_per_s": round(len(finished) / processing_s, 2) if processing_s else None,
        "task_ms": {"p50": _pct(task_ms, 0.5), "p95": _pct(task_ms, 0.95), "max": _pct(task_ms, 1.0)},
        # Share of the worker's slots spent inside tasks; the rest is broker polling, prefetch gaps and idle
        # time waiting for the import to enqueue more.
        "slot_utilisation": round(busy_s / (concurrency * processing_s), 3) if processing_s else None,
        "stage_ms_p50": {key: _pct(values, 0.5) for key, values in sorted(timings.items())},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=600, help="photos in the session (default 600)")
    parser.add_argument("--photos", type=Path, help="use these photos (folder) instead of generated ones")
    parser.add_argument("--tiny", action="store_true", help="640x480 noise JPEGs: measures per-photo overhead")
    parser.add_argument("--raw", action="store_true",
                        help="a RAW session: each photo wrapped as the full-size preview of a DNG (as ml_bench's raw)")
    parser.add_argument("--base-photos", type=Path, default=Path(tempfile.gettempdir()) / "eyespy-bench-photos")
    parser.add_argument("--base-n", type=int, default=12, help="distinct generated frames (default 12)")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK, help=f"scratch folder (default {DEFAULT_WORK})")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes (default 2, as bin/run)")
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database and media")
    parser.add_argument("--no-ceiling", action="store_true", help="skip the decode and the analysis ceilings")
    args = parser.parse_args(argv)
    if args.work.resolve().is_relative_to(REPO):
        raise SystemExit("--work must be outside the repository")

    print("preparing photos...", flush=True)
    photos = prepare_photos(args)
    photo_dir = photos[0].parent if not args.photos else Path(args.photos)
    total_mb = sum(p.stat().st_size for p in photos) / 1e6
    print(f"{len(photos)} photos, {total_mb:.0f} MB ({total_mb / max(1, len(photos)):.1f} MB each)", flush=True)

    var = args.work / "var"
    shutil.rmtree(var, ignore_errors=True)
    env = app_env(var)
    manage(env, "migrate", "--noinput")
    manage(env, "ensure_default_model")
    manage(env, "seed_demo")

    load_before = os.getloadavg()
    broker = embedded_redis.start(var)  # what bin/run's supervisor starts first
    proc, log = start_worker(env, var, args.concurrency)
    try:
        print("importing (the worker starts on the first photo right away)...", flush=True)
        t0 = time.time()
        import_cpu_before, broker_cpu_before = children_cpu_s(), process_cpu_s(broker.proc.pid)
        # The worker's start-up (imports, beat) is not the session's: count only what it spends from here.
        idle_cpu_s, idle_main_cpu_s = worker_cpu_s(proc)
        paths = [str(p) for p in photos] if args.photos else [str(photo_dir)]
        out = subprocess.run(
            [str(PYTHON), "manage.py", "import_session", "--owner", OWNER, "--title", f"Bench {len(photos)}", *paths],
            cwd=REPO, env=env, capture_output=True, text=True,
        )
        import_s = time.time() - t0
        import_cpu_s = children_cpu_s() - import_cpu_before
        if out.returncode != 0:
            raise SystemExit(f"import_session failed:\n{out.stderr[-3000:]}")
        lines = out.stdout.strip().splitlines()
        session_uuid, summary_line = lines[-1].strip(), lines[-2].strip()
        print(f"import: {summary_line} in {import_s:.1f} s", flush=True)
        result = wait_until_done(var / "db.sqlite3", session_uuid, len(photos), args.timeout, proc)
        wall_s = time.time() - t0
        cpu_s, main_cpu_s = worker_cpu_s(proc)
        if cpu_s is not None and idle_cpu_s is not None:
            cpu_s, main_cpu_s = cpu_s - idle_cpu_s, main_cpu_s - idle_main_cpu_s
        broker_cpu_after = process_cpu_s(broker.proc.pid)
        broker_cpu_s = (broker_cpu_after - broker_cpu_before
                        if broker_cpu_after is not None and broker_cpu_before is not None else None)
    finally:
        stop_worker(proc)
        broker.stop()
    load_after = os.getloadavg()
    ceiling = None if args.no_ceiling else measure_ceiling(photos, args.concurrency)
    analysis_ceiling = None if args.no_ceiling else measure_ceiling(photos, args.concurrency, mode="full")

    report = summarise(result["rows"], import_s=import_s, wall_s=wall_s, n_files=len(photos),
                       concurrency=args.concurrency)
    report.update(
        kind="tiny 640x480" if args.tiny else ("your photos" if args.photos else "generated 24 MP JPEGs")
        + (", each the full-size preview of a DNG" if args.raw else ""),
        mean_file_mb=round(total_mb / max(1, len(photos)), 2),
        concurrency=args.concurrency,
        broker="embedded Redis (unix socket, append-only file)",
        peak_rss_mb=result["peak_rss_mb"],
        # Contention-free view: what the photos cost the worker in CPU time (the machine may be shared).
        worker_cpu_s=round(cpu_s, 1) if cpu_s is not None else None,
        worker_main_cpu_s=round(main_cpu_s, 1) if main_cpu_s is not None else None,
        worker_cpu_ms_per_photo=round(1000 * cpu_s / len(result["rows"]), 1) if cpu_s else None,
        # Upper bound: ignores broker/dispatch gaps (see slot_utilisation) and the main process.
        photos_per_s_on_idle_cores=round(args.concurrency * len(result["rows"]) / cpu_s, 2) if cpu_s else None,
        import_cpu_s=round(import_cpu_s, 1),
        broker_cpu_s=round(broker_cpu_s, 1) if broker_cpu_s is not None else None,
        cpus=os.cpu_count(),
        loadavg_before=[round(v, 2) for v in load_before],
        loadavg_after=[round(v, 2) for v in load_after],
        measured_at=datetime.now().isoformat(timespec="seconds"),
    )
    if ceiling is not None:
        report.update(
            ceiling_photos_per_s=ceiling["images_per_s"],
            ratio=round(report["photos_per_s"] / ceiling["images_per_s"], 3) if report["photos_per_s"] else None,
            ceiling=ceiling,
            analysis_ceiling_photos_per_s=analysis_ceiling["images_per_s"],
            # What broker, database, storage and the import cost: 1.0 would be free.
            ratio_to_analysis_ceiling=(round(report["photos_per_s"] / analysis_ceiling["images_per_s"], 3)
                                       if report["photos_per_s"] else None),
            analysis_ceiling=analysis_ceiling,
        )
        if cpu_s is not None and broker_cpu_s is not None:
            # The same comparison in CPU time, which a neighbour on a shared machine can't move much: the
            # ceilings' CPU per photo against everything the session spent per photo (worker children and
            # main process, the import, the broker).
            session_ms = 1000 * (cpu_s + main_cpu_s + import_cpu_s + broker_cpu_s) / len(result["rows"])
            report.update(
                session_cpu_ms_per_photo=round(session_ms, 1),
                cpu_ratio=round(ceiling["cpu_mean_ms"] / session_ms, 3),
                cpu_ratio_to_analysis_ceiling=round(analysis_ceiling["cpu_mean_ms"] / session_ms, 3),
            )
    print(json.dumps(report, indent=1))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {args.json}")
    if not args.keep:
        shutil.rmtree(var, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
