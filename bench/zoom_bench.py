"""Web-process memory under 10 simultaneous first 100 % zooms of 120-megapixel originals.

The web side never decodes an original for a zoom (it queues `make_eye_zoom_task` and answers 202); this
measures that: one process (the web process) answers 10 first zoom requests at once from 10 threads, and
its peak RSS is compared with the RSS before. For scale it then cuts one such zoom the way the worker does,
in a child process, and reports that child's peak RSS (what one worker child needs per zoom).

    .venv/bin/python bench/zoom_bench.py [--photos 10] [--megapixels 120] [--json PATH]

Runs on a scratch SQLite database and media folder; prints a table and writes bench/results/zoom_bench.json.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_JSON = REPO / "bench" / "results" / "zoom_bench.json"


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def _rss_mb() -> float:
    return _status_mb("VmRSS")


def _peak_mb() -> float:
    # VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec, so a child would report its parent's peak.
    return _status_mb("VmHWM")


def _big_jpeg(megapixels: int) -> bytes:
    from PIL import Image, ImageDraw

    width = int((megapixels * 1e6 * 1.2) ** 0.5)
    height = int(megapixels * 1e6 / width)
    image = Image.new("RGB", (width, height), (90, 60, 40))
    draw = ImageDraw.Draw(image)
    for x in range(0, width, 97):  # some detail, so it is a real JPEG to decode
        draw.line([(x, 0), (x, height)], fill=(200, 180, 160), width=3)
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=80)
    return buf.getvalue()


def _setup(photos: int, megapixels: int):
    import django

    django.setup()
    from django.conf import settings
    from django.core.files.base import ContentFile
    from django.core.management import call_command

    from classifier.models import ModelVersion, Prediction
    from sessions_app.models import Photo, PhotoSession, User

    settings.ALLOWED_HOSTS = ["testserver"]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("migrate", verbosity=0)
    data = _big_jpeg(megapixels)
    user = User.objects.create_user(email="zoom@example.com", password="zoom-bench-password")
    model = ModelVersion.objects.create(name="zoom-bench", is_live=True)
    eyes = [{"side": side, "state": "open", "p_closed": 0.1, "openness": 0.9,
             "box": {"x0": x, "y0": 0.30, "x1": x + 0.05, "y1": 0.33}} for side, x in (("right", 0.42), ("left", 0.52))]
    face = {"box": {"x0": 0.38, "y0": 0.2, "x1": 0.62, "y1": 0.6}, "size_px": 2000, "is_subject": True, "eyes": eyes}
    made = []
    for i in range(photos):
        session = PhotoSession.objects.create(owner=user, title=f"Zoom {i}")
        photo = Photo(session=session, original_filename=f"BIG_{i}.JPG", extension=".jpg",
                      content_type="image/jpeg", sha256=f"{i:064d}", bytes=len(data), status=Photo.Status.DONE)
        photo.original.save("original", ContentFile(data), save=False)
        photo.save()
        Prediction.objects.create(photo=photo, model_version=model, verdict="NOT_BLINKING", confidence=0.9,
                                  reason="bench", details={"faces": [face]})
        made.append(photo)
    return user, made, model, len(data)


def _child_zoom(photo_id: int, model_id: int) -> None:
    from classifier.services import eye_zoom_make

    t0 = time.perf_counter()
    eye_zoom_make(photo_id=photo_id, model_version_id=model_id, face_index=0)
    print(json.dumps({"seconds": round(time.perf_counter() - t0, 2), "peak_rss_mb": round(_peak_mb(), 1)}))


def _run_child(extra: list[str]) -> dict:
    out = subprocess.run([sys.executable, __file__, *extra], env=os.environ.copy(), capture_output=True, text=True,
                         cwd=REPO)
    if out.returncode:
        sys.stderr.write(out.stderr)
        raise SystemExit(out.returncode)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _web_child(n: int) -> int:
    """The web process: n first zoom requests at once, from n threads."""
    import django

    django.setup()
    from django.conf import settings
    from django.test import Client

    from classifier import tasks
    from sessions_app.models import Photo, User

    settings.ALLOWED_HOSTS = ["testserver"]
    queued = []
    tasks.make_eye_zoom_task.apply_async = lambda args, **kw: queued.append(args)  # no worker here: count what would be sent
    user = User.objects.get(email="zoom@example.com")
    photos = list(Photo.objects.order_by("id")[:n])
    clients = []
    for _ in photos:
        c = Client()
        c.force_login(user)
        clients.append(c)
    c.get("/")  # warm up templates and connections
    statuses: list[int] = []
    rss_before, peak_before = _rss_mb(), _peak_mb()
    barrier = threading.Barrier(len(photos))

    def ask(c, photo):
        barrier.wait()  # all at once
        statuses.append(c.get(f"/photos/{photo.uuid}/zoom/0/").status_code)

    threads = [threading.Thread(target=ask, args=(c, p)) for c, p in zip(clients, photos)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps({"statuses": sorted(set(statuses)), "queued": len(queued),
                      "seconds": round(time.perf_counter() - t0, 3), "rss_before_mb": round(rss_before, 1),
                      "peak_before_mb": round(peak_before, 1), "peak_after_mb": round(_peak_mb(), 1)}))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=10)
    parser.add_argument("--megapixels", type=int, default=120)
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    parser.add_argument("--child", nargs=2, type=int, help=argparse.SUPPRESS)
    parser.add_argument("--web", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eyespy_site.settings")

    if args.child:
        import django

        django.setup()
        _child_zoom(*args.child)
        return 0

    if args.web:
        return _web_child(args.photos)

    tmp = tempfile.mkdtemp(prefix="eyespy-zoom-bench-")
    os.environ.update(EYESPY_VAR_DIR=tmp, DATABASE_URL=f"sqlite:///{tmp}/bench.sqlite3", DEBUG="true")
    _, photos, model, size = _setup(args.photos, args.megapixels)
    # The web process and the worker child are fresh processes, so their peak RSS is theirs alone.
    web = _run_child(["--web", "--photos", str(args.photos)])
    worker = _run_child(["--child", str(photos[0].id), str(model.id)])
    statuses, queued, web_seconds = web["statuses"], web["queued"], web["seconds"]
    rss_before, peak_before, web_peak = web["rss_before_mb"], web["peak_before_mb"], web["peak_after_mb"]

    result = {
        "photos": len(photos), "megapixels": args.megapixels, "jpeg_bytes": size,
        "statuses": statuses, "tasks_queued": queued,
        "web_rss_before_mb": round(rss_before, 1), "web_peak_rss_before_mb": round(peak_before, 1),
        "web_peak_rss_after_mb": round(web_peak, 1), "web_peak_growth_mb": round(web_peak - peak_before, 1),
        "web_seconds_for_all": round(web_seconds, 3),
        "worker_zoom_seconds": worker["seconds"], "worker_child_peak_rss_mb": worker["peak_rss_mb"],
    }
    print(f"{len(photos)} simultaneous first zooms of {args.megapixels} MP JPEGs ({size / 1e6:.1f} MB each)")
    print(f"  web answers: {result['statuses']} in {web_seconds * 1000:.0f} ms, {queued} worker tasks queued")
    print(f"  web process peak RSS: {peak_before:.0f} MB before -> {web_peak:.0f} MB after "
          f"(+{web_peak - peak_before:.0f} MB)")
    print(f"  one zoom in a worker child: {worker['seconds']} s, child peak RSS {worker['peak_rss_mb']} MB")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
