"""Server time and query counts of the web pages on a realistic photographer, no ML run needed.

Builds one photographer with --sessions sessions of --photos processed photos each, straight in the
database: every photo has a live-model Prediction whose `details` looks like a real analysis (1-3 faces,
two eyes each with boxes, p_closed, openness, lid_ratio, crop_path) and about 2% carry a correction.
Then it times the pages through Django's test client (server time only: no network, no browser) and
counts their SQL queries with CaptureQueriesContext.

    .venv/bin/python bench/web_bench.py                                  # SQLite and PostgreSQL, 25 x 600
    .venv/bin/python bench/web_bench.py --db sqlite --sessions 5 --photos 100
    .venv/bin/python bench/web_bench.py --db postgres --pg-url postgres://postgres@127.0.0.1:5432/eyespy_perf

Each backend runs in its own process on a scratch database (a temp SQLite file; the PostgreSQL database
named by --pg-url is dropped and re-created). Prints a table per backend and writes
bench/results/web_bench.json (--json PATH to change).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_JSON = REPO / "bench" / "results" / "web_bench.json"
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/eyespy_perf"
TARGETS_MS = {"dashboard": 300, "progress partial": 50, "review page": 1000, "correction (htmx)": 30,
              "lightbox step": 30, "lightbox (htmx)": 30, "loupe part (htmx)": 30, "session undo (htmx)": 50,
              "seen report (htmx)": 50, "gallery first view": 300}
GALLERY_PHOTOS = 300  # the 300-photo client gallery
GALLERY_BYTES_TARGET = 1_500_000  # first view, everything transferred (images measured in tests/browser)


# --- data -------------------------------------------------------------------------------------------------


def _eye(rng: random.Random, side: str, x: float, blink: bool) -> dict:
    p = rng.uniform(0.6, 0.99) if blink else (rng.uniform(0.25, 0.5) if rng.random() < 0.1 else rng.uniform(0.01, 0.2))
    state = "closed" if p >= 0.5 else ("partly_closed" if p >= 0.3 else "open")
    return {
        "side": side, "state": state, "p_closed": round(p, 4), "openness": round(1 - p, 4),
        "box": {"x0": round(x, 4), "y0": 0.31, "x1": round(x + 0.06, 4), "y1": 0.35},
        "lid_ratio": round(rng.uniform(0.05, 0.35), 4),
        "crop_path": f"derived/{uuid.uuid4().hex}/eye_{side}.png",
    }


def _details(rng: random.Random) -> dict:
    from ml import Thresholds, judge

    faces = []
    for i in range(rng.choice((1, 1, 1, 2, 2, 3))):
        x = 0.1 + 0.28 * i
        blink = rng.random() < 0.12
        faces.append({
            "box": {"x0": round(x, 4), "y0": 0.2, "x1": round(x + 0.22, 4), "y1": 0.6},
            "score": round(rng.uniform(0.8, 0.99), 4),
            "size_px": rng.randint(300, 1400) if i == 0 else rng.randint(80, 1200),
            "is_subject": True,
            "eyes": [_eye(rng, "right", x + 0.04, blink), _eye(rng, "left", x + 0.12, blink)],
        })
    verdict, confidence, reason = judge(faces, Thresholds())
    return {"verdict": verdict.value, "confidence": confidence, "reason": reason, "faces": faces,
            "width": 6000, "height": 4000,
            "timings_ms": {"decode": 310.2, "faces": 41.5, "eyes": 22.4, "cnn": 18.9, "total": 401.0}}


def _check_pool(n: int, seed: int) -> list[dict]:
    """Every registered check's real details (details["checks"]) of n drawn frames, analysed once by the
    real photo path and dealt out to the bench's predictions: the review then judges focus, motion, framing
    and bursts (with the session steps) as it does for a real session."""
    import io

    from PIL import Image, ImageDraw

    import ml
    from ml.detectors import Subject, analyse_all
    from ml.imaging import decode

    model, rng, pool = ml.load_model(), random.Random(seed), []
    for _ in range(n):
        im = Image.new("RGB", (1600, 1067), (128, 128, 128))
        draw = ImageDraw.Draw(im)
        for _ in range(60):
            x, y, w, h = rng.randrange(1500), rng.randrange(1000), rng.randrange(20, 240), rng.randrange(20, 240)
            draw.rectangle((x, y, x + w, y + h), fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
        buf = io.BytesIO()
        im.save(buf, format="JPEG", quality=90)
        decoded = decode(buf.getvalue())
        details = analyse_all(Subject(analysis=ml.analyse(decoded, model=model), image=decoded))
        details.pop("blink", None)
        pool.append(details)
    return pool


def build(*, sessions: int, photos: int, seed: int = 1, checks: bool = False):
    """The photographer, their sessions, photos, predictions and ~2% corrections. Returns (user, sessions)."""
    from django.db import transaction
    from django.utils import timezone

    from classifier.models import Correction, ModelVersion, Prediction
    from sessions_app.models import Client, Photo, PhotoSession, User

    rng = random.Random(seed)
    pool = _check_pool(40, seed) if checks else []
    with transaction.atomic():
        user = User.objects.create_user(email="bench@example.com", password="bench-password-123")
        model = ModelVersion.objects.create(name="bench-live", is_live=True)
        client = Client.objects.create(owner=user, name="Bench client")
        made = []
        for s in range(sessions):
            session = PhotoSession.objects.create(owner=user, client=client, title=f"Session {s + 1}",
                                                  shot_on=timezone.now().date())
            rows = []
            for i in range(photos):
                u = uuid.uuid4()
                failed = rng.random() < 0.01
                rows.append(Photo(
                    session=session, uuid=u, original=f"photos/{session.uuid}/{u.hex}.jpg",
                    original_filename=f"IMG_{i:04d}.JPG", extension=".jpg", content_type="image/jpeg",
                    sha256=f"{s:04d}{i:060d}", bytes=12_000_000, width=6000, height=4000,
                    taken_at=timezone.now(), status=Photo.Status.FAILED if failed else Photo.Status.DONE,
                    error="cannot identify image file" if failed else "", attempts=1,
                    thumbnail=f"derived/{u.hex}/thumb.jpg", preview=f"derived/{u.hex}/preview.jpg",
                ))
            Photo.objects.bulk_create(rows, batch_size=500)
            done = list(session.photos.filter(status=Photo.Status.DONE))
            preds = []
            for p in done:
                d = _details(rng)
                if pool:
                    d["checks"] = pool[rng.randrange(len(pool))]
                preds.append(Prediction(photo=p, model_version=model, verdict=d["verdict"],
                                        confidence=d["confidence"], reason=d["reason"][:500], details=d))
            Prediction.objects.bulk_create(preds, batch_size=500)
            fixes = [Correction(photo=p, label=rng.choice(["BLINKING", "NOT_BLINKING"]), previous_label="",
                                model_version=model, created_by=user)
                     for p in rng.sample(done, max(1, len(done) // 50))]
            Correction.objects.bulk_create(fixes)
            made.append(session)
    return user, made


# --- timing -----------------------------------------------------------------------------------------------


def build_gallery(session, *, photos: int = GALLERY_PHOTOS):
    """A client gallery of the session's first `photos` done photos, previews marked ready (the page's
    server time does not read preview files), and a guest with 20 hearts. Returns (gallery, guest client)."""
    from django.test import Client as WebClient

    from galleries.access import new_token
    from galleries.selections import selection_set_favourite
    from sessions_app.models import Gallery, GalleryPhoto

    chosen = list(session.photos.filter(status="done").order_by("original_filename")[:photos])
    gallery = Gallery.objects.create(session=session, title="Bench gallery", token=new_token(), max_picks=30)
    items = GalleryPhoto.objects.bulk_create([
        GalleryPhoto(gallery=gallery, photo=p, position=n, preview_key="plain", preview_status="ready",
                     preview_width=1600, preview_height=1067 if n % 3 else 2400) for n, p in enumerate(chosen)])
    guest = WebClient()
    guest.post(f"/g/{gallery.token}/enter/", {"name": "Bench guest", "email": "guest@example.com"})
    selection = gallery.selections.get()
    for item in items[:20]:
        selection_set_favourite(selection=selection, item=item, favourite=True)
    return gallery, guest


def _first_view_bytes(guest, url: str) -> dict:
    """What a browser's first view of the gallery costs before any image: gzipped HTML + its CSS and JS."""
    import re

    from django.contrib.staticfiles import finders

    html = guest.get(url, HTTP_ACCEPT_ENCODING="gzip")
    body = guest.get(url).content.decode()
    static = sum(Path(finders.find(name)).stat().st_size for name in re.findall(r'/static/([^"]+\.(?:css|js))', body))
    return {"html_gzip": len(html.content), "static": static, "html_raw": len(body)}


def _measure(name: str, call, *, repeat: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    call()  # warm-up (template loading, connection)
    times, cpu, queries = [], [], 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as ctx:
            t0, c0 = time.perf_counter(), time.process_time()
            status = call()
            times.append((time.perf_counter() - t0) * 1000)
            # CPU time of this process (Django's side; the database server's excluded): on a shared, loaded
            # machine wall time says more about the neighbours than about the code.
            cpu.append((time.process_time() - c0) * 1000)
        queries = len(ctx.captured_queries)
        if status not in (None, 200):
            raise RuntimeError(f"{name}: HTTP {status}")
    return {"name": name, "p50_ms": round(statistics.median(times), 1), "min_ms": round(min(times), 1),
            "cpu_p50_ms": round(statistics.median(cpu), 1), "queries": queries, "target_ms": TARGETS_MS.get(name)}


def run_backend(args) -> dict:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eyespy_site.settings")
    os.environ["DEBUG"] = "true"  # keeps the dev settings; CaptureQueriesContext forces query logging anyway
    sys.path.insert(0, str(REPO))
    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client as WebClient
    from django.test.utils import setup_test_environment

    settings.ALLOWED_HOSTS = ["testserver", *settings.ALLOWED_HOSTS]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    setup_test_environment()
    call_command("migrate", verbosity=0)
    t0 = time.perf_counter()
    user, sessions = build(sessions=args.sessions, photos=args.photos, checks=args.with_checks)
    build_s = time.perf_counter() - t0

    from django.core.cache import cache

    from review import selectors as review
    from review.exports.options import ExportOptions
    from review.exports.services import write_cards

    web = WebClient()
    web.force_login(user)
    session = sessions[0]
    photo_uuids = [str(u) for u in session.photos.filter(status="done").values_list("uuid", flat=True)[:50]]
    flips = iter(range(10_000))

    def get(url: str, **headers):
        return lambda: web.get(url, **headers).status_code

    def correct():
        n = next(flips)
        label = "BLINKING" if n % 2 else "NOT_BLINKING"
        return web.post(f"/photos/{photo_uuids[n % len(photo_uuids)]}/correct/", {"label": label},
                        HTTP_HX_REQUEST="true").status_code

    def csv_export():
        import io

        cards = review.session_cards(session=session)
        write_cards("csv", cards, io.BytesIO(), options=ExportOptions())

    steps = iter(range(10_000))

    def lightbox_step():
        # The page a photographer walks with the arrow keys: it links the previous and next photo.
        n = next(steps)
        return web.get(f"/photos/{photo_uuids[n % len(photo_uuids)]}/lightbox/").status_code

    undo_flips = iter(range(10_000))

    def correct_then_undo():
        # The server-side undo: a change, then U takes it back (the undo alone is what is timed below).
        n = next(undo_flips)
        web.post(f"/photos/{photo_uuids[n % len(photo_uuids)]}/correct/", {"label": "BLINKING"},
                 HTTP_HX_REQUEST="true")
        t0 = time.perf_counter()
        status = web.post(f"/sessions/{session.uuid}/review/undo/", {"swap": "oob"}, HTTP_HX_REQUEST="true").status_code
        undo_times.append((time.perf_counter() - t0) * 1000)
        return status

    undo_times: list[float] = []
    seen_batches = iter(range(10_000))

    def seen_report():
        n = next(seen_batches) * 5
        batch = [photo_uuids[(n + k) % len(photo_uuids)] for k in range(5)]
        return web.post(f"/sessions/{session.uuid}/review/seen/", {"photos": batch}, HTTP_HX_REQUEST="true").status_code

    loupe_steps = iter(range(10_000))

    def loupe_part():
        n = next(loupe_steps)
        return web.get(f"/photos/{photo_uuids[n % len(photo_uuids)]}/loupe/", HTTP_HX_REQUEST="true").status_code

    s = session.uuid
    def dashboard_cold():
        cache.clear()  # blink counts judged afresh: the first look after a restart or at changed sessions
        return web.get("/").status_code

    gallery, guest = build_gallery(session)
    gallery_url = f"/g/{gallery.token}/"
    gallery_keys = [str(k) for k in gallery.items.order_by("position").values_list("uuid", flat=True)[20:60]]
    hearts = iter(range(10_000))

    def heart():
        n = next(hearts)
        return guest.post(f"{gallery_url}p/{gallery_keys[n % len(gallery_keys)]}/favourite/",
                          {"favourite": "1" if (n // len(gallery_keys)) % 2 == 0 else "0"},
                          HTTP_ACCEPT="application/json").status_code

    rows = [
        _measure("dashboard (cold cache)", dashboard_cold, repeat=args.repeat),
        _measure("dashboard", get("/"), repeat=args.repeat),
        _measure("session page", get(f"/sessions/{s}/"), repeat=args.repeat),
        _measure("progress partial", get(f"/sessions/{s}/progress/", HTTP_HX_REQUEST="true"), repeat=args.repeat),
        _measure("review page", get(f"/sessions/{s}/review/"), repeat=args.repeat),
        _measure("correction (htmx)", correct, repeat=args.repeat),
        _measure("lightbox step", lightbox_step, repeat=args.repeat),
        _measure("lightbox (htmx)", get(f"/photos/{photo_uuids[0]}/lightbox/", HTTP_HX_REQUEST="true"),
                 repeat=args.repeat),
        _measure("strictness preview", get(f"/sessions/{s}/review/strictness/preview/?strictness=0.8"),
                 repeat=args.repeat),
        _measure("CSV export", csv_export, repeat=args.repeat),
        {**_measure("gallery first view", lambda: guest.get(gallery_url, HTTP_ACCEPT_ENCODING="gzip").status_code,
                    repeat=args.repeat), "bytes": _first_view_bytes(guest, gallery_url)},
        _measure("gallery heart (json)", heart, repeat=args.repeat),
        _measure("loupe part (htmx)", loupe_part, repeat=args.repeat),
        _measure("seen report (htmx)", seen_report, repeat=args.repeat),
    ]
    # The undo row times the undo request alone (each run first makes the change it takes back).
    undo_row = _measure("session undo (htmx)", correct_then_undo, repeat=args.repeat)
    undo_times[:] = undo_times[1:]  # the warm-up
    undo_row.update(p50_ms=round(statistics.median(undo_times), 1), min_ms=round(min(undo_times), 1),
                    cpu_p50_ms=None, queries=None)
    rows.append(undo_row)
    return {"backend": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1], "sessions": args.sessions,
            "photos_per_session": args.photos, "build_s": round(build_s, 1), "rows": rows}


def _print(result: dict) -> None:
    print(f"\n{result['backend']}: {result['sessions']} sessions x {result['photos_per_session']} photos "
          f"(built in {result['build_s']} s)")
    print(f"{'endpoint':<22}{'p50 ms':>9}{'min ms':>9}{'cpu ms':>9}{'queries':>9}{'target':>9}")
    for r in result["rows"]:
        target = f"<{r['target_ms']}" if r["target_ms"] else ""
        flag = " !" if r["target_ms"] and r["p50_ms"] > r["target_ms"] else ""
        queries = "" if r["queries"] is None else r["queries"]
        cpu = "" if r.get("cpu_p50_ms") is None else r["cpu_p50_ms"]
        print(f"{r['name']:<22}{r['p50_ms']:>9}{r['min_ms']:>9}{cpu:>9}{queries:>9}{target:>9}{flag}")
        if "bytes" in r:
            b = r["bytes"]
            print(f"{'':<22}{GALLERY_PHOTOS} photos: HTML {b['html_gzip'] / 1e3:.1f} kB gzipped ({b['html_raw'] / 1e3:.0f} kB raw)"
                  f" + CSS/JS {b['static'] / 1e3:.1f} kB, before images (budget {GALLERY_BYTES_TARGET / 1e6:.1f} MB in all)")


def _pg_recreate(url: str) -> None:
    import psycopg
    from urllib.parse import urlparse

    name = urlparse(url).path.lstrip("/")
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=25)
    parser.add_argument("--photos", type=int, default=600)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    parser.add_argument("--with-checks", action="store_true",
                        help="store every registered check's real details too (focus, motion, framing, bursts)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:  # one backend, result as JSON on the last line of stdout
        print(json.dumps(run_backend(args)))
        return 0

    results = []
    for db in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
        with tempfile.TemporaryDirectory(prefix="eyespy-web-bench-") as tmp:
            env = {**os.environ, "EYESPY_VAR_DIR": tmp, "OMP_NUM_THREADS": "1"}
            if db == "sqlite":
                env["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
            else:
                _pg_recreate(args.pg_url)
                env["DATABASE_URL"] = args.pg_url
            cmd = [sys.executable, __file__, "--child", "--sessions", str(args.sessions), "--photos",
                   str(args.photos), "--repeat", str(args.repeat)] + (["--with-checks"] if args.with_checks else [])
            out = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True)
            if out.returncode:
                sys.stderr.write(out.stderr)
                return out.returncode
            result = json.loads(out.stdout.strip().splitlines()[-1])
            _print(result)
            results.append(result)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"results": results}, indent=2))
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
