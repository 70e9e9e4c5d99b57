"""The docker-compose stack as real processes on this machine, checked end to end over HTTP.

No Docker engine is needed: a moto S3 server stands in for MinIO, and the PostgreSQL and Redis already running
on 127.0.0.1 stand in for their containers (a fresh database, and a Redis key prefix of its own, both removed
at the end). Every Eye Spy process gets the environment compose gives the app (DEBUG=false, a strong
SECRET_KEY, DATABASE_URL, CELERY_BROKER_URL, CACHE_URL, STORAGE_BACKEND=s3 ...) and nothing else from this
shell. SECURE_SSL_REDIRECT=false because there is no TLS proxy; the client sends the headers the proxy would
(X-Forwarded-Proto: https, X-Forwarded-For) and keeps `Secure` cookies, as a browser on https does.

    .venv/bin/python bench/stack_smoke.py                 # ~1-2 minutes
    .venv/bin/python bench/stack_smoke.py --keep          # keep the temp folder (logs, static files)

Steps: moto + private bucket; database; migrate; check --deploy (only security.W008, the disabled SSL
redirect, is allowed); ensure_default_model; collectstatic (as the Dockerfile does, into a temp STATIC_ROOT);
createsuperuser --noinput; gunicorn (the Dockerfile CMD), celery worker and beat (the compose commands);
then over HTTP: log in through the form (after one wrong password, whose count must land in Redis), create a
session, upload 3 photos from ../shared/data/photos/closed, poll the progress partial until done, read the
review page (BLINKING cards with reasons), follow a thumbnail to its signed S3 URL, fetch a hashed static file
from WhiteNoise; `celery inspect ping` as the compose health check; stop everything with SIGTERM.

Prints a summary, writes bench/results/stack_smoke.json (--json PATH), exits 1 when any check fails.
This is a manual check: it is not part of the pytest suite.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # the virtualenv's bin/: gunicorn and celery live next to python
DEFAULT_JSON = REPO / "bench" / "results" / "stack_smoke.json"
DEFAULT_PHOTOS = REPO.parent / "shared" / "data" / "photos" / "closed"
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
BROKER_DB, CACHE_DB = 0, 1  # as compose: broker on 0, login-throttle cache on 1
ALLOWED_CHECK_IDS = {"security.W008"}  # SECURE_SSL_REDIRECT=false, on purpose (no TLS proxy here)
CACHE_KEY_PREFIX = "eyespy"  # settings.CACHES["default"]["KEY_PREFIX"]


class SmokeFailure(Exception):
    """A check of the stack failed; the message says which and why."""


# --- Small helpers ----------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, *, timeout: float, what: str, proc: subprocess.Popen | None = None, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SmokeFailure(f"{what}: the process exited with {proc.returncode}")
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise SmokeFailure(f"{what}: not ready after {timeout:.0f} s")


def tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# --- The run ----------------------------------------------------------------------------------------------


class StackSmoke:
    def __init__(self, *, photos: list[Path], keep: bool, worker_concurrency: int, web_workers: int,
                 wait_beat: bool) -> None:
        self.photos = photos
        self.wait_beat = wait_beat
        self.keep = keep
        self.worker_concurrency = worker_concurrency
        self.web_workers = web_workers
        self.tmp = Path(tempfile.mkdtemp(prefix="eyespy-stack-smoke-"))
        self.logs = self.tmp / "logs"
        self.logs.mkdir()
        self.tag = secrets.token_hex(4)
        self.steps: list[dict] = []
        self.facts: dict = {"tmp_dir": str(self.tmp), "tag": self.tag}
        self.procs: dict[str, subprocess.Popen] = {}
        self.cleanups: list[tuple[str, object]] = []
        self.env: dict[str, str] = {}

    # Bookkeeping ---------------------------------------------------------------------------------------------

    @contextmanager
    def step(self, name: str):
        record = {"step": name, "ok": False, "seconds": None, "detail": ""}
        self.steps.append(record)
        started = time.monotonic()
        print(f"-- {name} ...", flush=True)
        try:
            yield record
        except Exception as exc:
            record["detail"] = record["detail"] or f"{type(exc).__name__}: {exc}"
            raise
        else:
            record["ok"] = True
        finally:
            record["seconds"] = round(time.monotonic() - started, 2)
            mark = "ok " if record["ok"] else "FAIL"
            extra = f"  {record['detail']}" if record["detail"] else ""
            print(f"   [{mark}] {name} ({record['seconds']:.2f} s){extra}", flush=True)

    def run_manage(self, *args: str, env_extra: dict[str, str] | None = None, timeout: int = 300):
        proc = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=REPO, env={**self.env, **(env_extra or {})},
            capture_output=True, text=True, timeout=timeout,
        )
        (self.logs / f"manage-{args[0]}.log").write_text(proc.stdout + "\n--- stderr ---\n" + proc.stderr)
        return proc

    def start(self, name: str, argv: list[str]) -> subprocess.Popen:
        log = (self.logs / f"{name}.log").open("wb")
        # Own process group: we can stop it (and only it) with its children.
        proc = subprocess.Popen(argv, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        log.close()
        self.procs[name] = proc
        return proc

    # Services ------------------------------------------------------------------------------------------------

    def start_s3(self) -> None:
        import boto3

        port = free_port()
        self.s3 = {"endpoint": f"http://127.0.0.1:{port}", "bucket": f"eyespy-smoke-{self.tag}",
                   "key": f"smoke-{self.tag}", "secret": secrets.token_urlsafe(24)}
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.tmp)}
        log = (self.logs / "moto.log").open("wb")
        proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.procs["moto"] = proc

        def listening():
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return True
            except OSError:
                return False

        wait_for(listening, timeout=30, what="moto server", proc=proc)
        self.s3_client = boto3.client("s3", endpoint_url=self.s3["endpoint"], region_name="us-east-1",
                                      aws_access_key_id=self.s3["key"], aws_secret_access_key=self.s3["secret"])
        # As compose's createbucket: a private bucket, no anonymous access.
        self.s3_client.create_bucket(Bucket=self.s3["bucket"], ACL="private")

    def create_database(self) -> str:
        import psycopg

        name = f"eyespy_smoke_{self.tag}"
        with psycopg.connect(PG_ADMIN_URL.replace("postgres://", "postgresql://"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.cleanups.append(("drop database", lambda: self._drop_database(name)))
        self.facts["database"] = name
        return f"postgres://postgres@127.0.0.1:5432/{name}"

    @staticmethod
    def _drop_database(name: str) -> None:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL.replace("postgres://", "postgresql://"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def build_env(self, database_url: str) -> None:
        self.broker_prefix = f"eyespy-smoke-{self.tag}:"
        self.var_dir = self.tmp / "var"
        (self.var_dir / "beat").mkdir(parents=True)
        self.static_root = self.tmp / "staticfiles"
        self.secret_key = secrets.token_urlsafe(50)
        self.env = {
            # The image: a bare environment (no inherited DJANGO_*, EYESPY_*, AWS_* from this shell).
            "PATH": f"{BIN}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.tmp),
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
            "OMP_NUM_THREADS": "1",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "EYESPY_VAR_DIR": str(self.var_dir),
            "STATIC_ROOT": str(self.static_root),  # the image uses /app/staticfiles
            # docker-compose.yml x-app environment, pointed at this machine's services.
            "DEBUG": "false",
            "SECRET_KEY": self.secret_key,
            "ALLOWED_HOSTS": "127.0.0.1",
            "CSRF_TRUSTED_ORIGINS": "https://127.0.0.1",
            "SITE_URL": "https://127.0.0.1",
            "SECURE_SSL_REDIRECT": "false",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/{BROKER_DB}",
            "CELERY_BROKER_KEY_PREFIX": self.broker_prefix,
            "CACHE_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/{CACHE_DB}",
            "EYESPY_TRUSTED_PROXIES": "1",
            "STORAGE_BACKEND": "s3",
            "AWS_STORAGE_BUCKET_NAME": self.s3["bucket"],
            "AWS_S3_ENDPOINT_URL": self.s3["endpoint"],
            "AWS_S3_REGION_NAME": "us-east-1",
            "AWS_ACCESS_KEY_ID": self.s3["key"],
            "AWS_SECRET_ACCESS_KEY": self.s3["secret"],
            "EMAIL_HOST": "",
            "EMAIL_HOST_USER": "",
            "EMAIL_HOST_PASSWORD": "",
            "DEFAULT_FROM_EMAIL": "Eye Spy <noreply@localhost>",
            "EYESPY_ALLOW_SIGNUP": "false",
        }
        import redis

        self.redis_broker = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=BROKER_DB)
        self.redis_cache = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=CACHE_DB)
        self.broker_keys_before = set(self.redis_broker.keys("*"))
        self.cache_counts_before = set(self.redis_cache.scan_iter(match=f"{CACHE_KEY_PREFIX}:*:eyespy:blinking:*"))
        self.cleanups.append(("redis broker keys", self._clean_broker_keys))

    def _clean_broker_keys(self) -> None:
        ours = list(self.redis_broker.scan_iter(match=f"{self.broker_prefix}*"))
        if ours:
            self.redis_broker.delete(*ours)
        # Anything new in the broker db without our prefix would be a leak of the prefix setting.
        after = set(self.redis_broker.keys("*"))
        self.facts["redis_broker_keys_removed"] = len(ours)
        self.facts["redis_broker_unprefixed_new_keys"] = sorted(k.decode(errors="replace")
                                                                for k in after - self.broker_keys_before)

    def _throttle_idents(self) -> list[str]:
        """What login_throttle counts under: the email, the client address and the (email, address) pair."""
        ip = getattr(self, "client_ip", None)
        return [i for i in (self.email, ip, f"{self.email.strip().lower()}|{ip}" if ip else None) if i]

    def _clean_cache_keys(self, idents: list[str]) -> None:
        # The dashboard's cached BLINKING counts (review/selectors/summary.py) that appeared during the run.
        counts = set(self.redis_cache.scan_iter(match=f"{CACHE_KEY_PREFIX}:*:eyespy:blinking:*"))
        new_counts = list(counts - self.cache_counts_before)
        removed = self.redis_cache.delete(*new_counts) if new_counts else 0
        for ident in idents:
            digest = hashlib.sha256(ident.strip().lower().encode()).hexdigest()[:32]
            keys = list(self.redis_cache.scan_iter(match=f"{CACHE_KEY_PREFIX}:*:throttle:*:{digest}:*"))
            if keys:
                removed += self.redis_cache.delete(*keys)
        self.facts["redis_cache_keys_removed"] = removed

    # Deploy steps ----------------------------------------------------------------------------------------------

    def check_deploy(self, record: dict) -> None:
        proc = self.run_manage("check", "--deploy")
        output = (proc.stdout + proc.stderr).strip()
        ids = sorted(set(re.findall(r"\(([a-z_]+\.[EWCI]\d+)\)", output)))
        self.facts["check_deploy"] = {"returncode": proc.returncode, "ids": ids, "output": output}
        record["detail"] = f"ids={ids or 'none'}"
        unexpected = set(ids) - ALLOWED_CHECK_IDS
        if proc.returncode != 0 or unexpected:
            raise SmokeFailure(f"check --deploy: rc={proc.returncode}, unexpected {sorted(unexpected)}:\n{output}")

    def manage_ok(self, record: dict, *args: str, env_extra: dict[str, str] | None = None) -> str:
        proc = self.run_manage(*args, env_extra=env_extra)
        if proc.returncode != 0:
            raise SmokeFailure(f"manage.py {' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
        last = (proc.stdout.strip().splitlines() or [""])[-1]
        record["detail"] = last[:160]
        return proc.stdout

    def start_app(self) -> None:
        self.web_port = free_port()
        self.base = f"http://127.0.0.1:{self.web_port}"
        # The Dockerfile CMD (compose's web command is the same), bound to a free local port.
        self.start("gunicorn", [
            str(BIN / "gunicorn"), "eyespy_site.wsgi:application", "--bind", f"127.0.0.1:{self.web_port}",
            "--workers", str(self.web_workers), "--worker-class", "gthread", "--threads", "4",
            "--timeout", "120", "--access-logfile", "-",
        ])
        # Compose's worker command; a node name of our own so it can't clash with another worker here.
        self.worker_node = f"worker-smoke-{self.tag}@{socket.gethostname()}"
        self.start("worker", [
            str(BIN / "celery"), "-A", "eyespy_site", "worker", "--pool=prefork",
            f"--concurrency={self.worker_concurrency}", "--prefetch-multiplier=1",
            "--queues=zooms,photos,exports,training", f"--hostname={self.worker_node}", "--loglevel=INFO",
        ])
        # Compose's beat command (schedule and pidfile on the "beatdata volume").
        self.beat_pidfile = self.var_dir / "beat" / "beat.pid"
        self.start("beat", [
            str(BIN / "celery"), "-A", "eyespy_site", "beat",
            f"--schedule={self.var_dir / 'beat' / 'celerybeat-schedule'}", f"--pidfile={self.beat_pidfile}",
            "--loglevel=INFO",
        ])

    def wait_app(self, record: dict) -> None:
        import requests

        started = time.monotonic()

        def web_healthy():
            # Compose's web health check: a real host name and X-Forwarded-Proto, as the proxy sends them.
            try:
                r = requests.get(f"{self.base}/accounts/login/", timeout=5,
                                 headers={"Host": "127.0.0.1", "X-Forwarded-Proto": "https"})
            except requests.RequestException:
                return False
            return r.status_code == 200

        wait_for(web_healthy, timeout=60, what="gunicorn", proc=self.procs["gunicorn"])
        web_s = time.monotonic() - started
        worker_log = self.logs / "worker.log"
        wait_for(lambda: " ready." in worker_log.read_text(errors="replace"), timeout=90, what="celery worker",
                 proc=self.procs["worker"])
        worker_s = time.monotonic() - started
        # Compose's beat health check: the pidfile names a live process.
        def beat_alive():
            try:
                pid = int(self.beat_pidfile.read_text().strip())
                os.kill(pid, 0)
            except (OSError, ValueError):
                return False
            return "beat: Starting" in (self.logs / "beat.log").read_text(errors="replace")

        wait_for(beat_alive, timeout=60, what="celery beat", proc=self.procs["beat"])
        self.facts["startup_s"] = {"web": round(web_s, 2), "worker": round(worker_s, 2),
                                   "beat": round(time.monotonic() - started, 2)}
        record["detail"] = f"web {web_s:.1f} s, worker {worker_s:.1f} s"

    # HTTP ------------------------------------------------------------------------------------------------------

    def http_session(self):
        import requests

        class BehindTlsProxy(requests.Session):
            # Our hop is plain HTTP but the browser's is https (the TLS proxy is simulated), so `Secure`
            # cookies must still be sent back: the flag is dropped from our stored copies (the Set-Cookie
            # headers themselves are checked for Secure in login()).
            def send(self, request, **kwargs):
                response = super().send(request, **kwargs)
                for cookie in self.cookies:
                    cookie.secure = False
                return response

        http = BehindTlsProxy()
        # What the TLS proxy adds: the original scheme, and the client's address appended to X-Forwarded-For.
        self.client_ip = f"198.51.100.{secrets.randbelow(250) + 1}"
        http.headers.update({"X-Forwarded-Proto": "https", "X-Forwarded-For": self.client_ip})
        return http

    def post(self, http, path: str, data=None, *, referer: str, files=None, headers=None):
        token = http.cookies.get("csrftoken")
        hdrs = {"Referer": f"https://127.0.0.1:{self.web_port}{referer}",
                "Origin": f"https://127.0.0.1:{self.web_port}", "X-CSRFToken": token or "", **(headers or {})}
        return http.post(f"{self.base}{path}", data=data, files=files, headers=hdrs, allow_redirects=False,
                         timeout=60)

    @staticmethod
    def form_token(html: str) -> str:
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
        if not match:
            raise SmokeFailure("no CSRF token in the form")
        return match.group(1)

    def login(self, http, record: dict) -> None:
        # Sign-up is off, as compose's default: the page must not exist.
        signup = http.get(f"{self.base}/accounts/signup/", timeout=10)
        if signup.status_code != 404:
            raise SmokeFailure(f"/accounts/signup/ answered {signup.status_code} with EYESPY_ALLOW_SIGNUP=false")
        # Without the proxy's headers (SECURE_SSL_REDIRECT=false here): served as plain HTTP, no HSTS.
        import requests

        direct = requests.get(f"{self.base}/accounts/login/", allow_redirects=False, timeout=10)
        self.facts["plain_http_login_page"] = {"status": direct.status_code,
                                               "hsts": direct.headers.get("Strict-Transport-Security")}
        if direct.status_code != 200 or direct.headers.get("Strict-Transport-Security"):
            raise SmokeFailure(f"plain HTTP login page: {self.facts['plain_http_login_page']}")
        page = http.get(f"{self.base}/accounts/login/", timeout=10)
        page.raise_for_status()
        headers = {k: page.headers.get(k) for k in ("Strict-Transport-Security", "X-Frame-Options",
                                                     "X-Content-Type-Options", "Referrer-Policy")}
        self.facts["security_headers"] = headers
        if not headers["Strict-Transport-Security"] or headers["X-Frame-Options"] != "DENY":
            raise SmokeFailure(f"security headers missing on an https request: {headers}")
        # One wrong password first: its count must reach Redis db 1 (CACHE_URL), shared by all web workers.
        bad = self.post(http, "/accounts/login/", {"csrfmiddlewaretoken": self.form_token(page.text),
                        "username": self.email, "password": "wrong-" + self.password, "next": ""},
                        referer="/accounts/login/")
        if bad.status_code != 200 or "match an account" not in bad.text:
            raise SmokeFailure(f"wrong password: expected the form again with an error, got {bad.status_code}")
        digest = hashlib.sha256(self.email.encode()).hexdigest()[:32]
        counted = list(self.redis_cache.scan_iter(match=f"{CACHE_KEY_PREFIX}:*:throttle:login-email:{digest}:n"))
        self.facts["failed_login_counted_in_redis"] = bool(counted)
        if not counted:
            raise SmokeFailure("a failed login left no throttle counter in Redis (CACHE_URL not used?)")
        good = self.post(http, "/accounts/login/", {"csrfmiddlewaretoken": self.form_token(bad.text),
                         "username": self.email, "password": self.password, "next": ""},
                         referer="/accounts/login/")
        if good.status_code != 302:
            raise SmokeFailure(f"login: expected 302, got {good.status_code}")
        cookie_lines = [v for k, v in good.raw.headers.items() if k.lower() == "set-cookie"]
        session_cookie = next((c for c in cookie_lines if c.startswith("sessionid=")), "")
        flags = {"Secure": "; secure" in session_cookie.lower(), "HttpOnly": "; httponly" in session_cookie.lower()}
        self.facts["session_cookie_flags"] = flags
        if not all(flags.values()):
            raise SmokeFailure(f"session cookie flags: {flags}")
        record["detail"] = f"302 -> {good.headers.get('Location')}, session cookie Secure+HttpOnly"

    def create_session(self, http, record: dict) -> str:
        form = http.get(f"{self.base}/sessions/new/", timeout=10)
        form.raise_for_status()
        resp = self.post(http, "/sessions/new/", {"csrfmiddlewaretoken": self.form_token(form.text),
                         "title": f"Stack smoke {self.tag}", "shot_on": "", "client": "",
                         "new_client_name": "Smoke client"}, referer="/sessions/new/")
        match = re.match(r"/sessions/([0-9a-f-]{36})/$", resp.headers.get("Location", ""))
        if resp.status_code != 302 or not match:
            raise SmokeFailure(f"create session: {resp.status_code} {resp.headers.get('Location')}")
        record["detail"] = match.group(1)
        return match.group(1)

    def upload(self, http, session_uuid: str, record: dict) -> list[dict]:
        detail = http.get(f"{self.base}/sessions/{session_uuid}/", timeout=10)
        detail.raise_for_status()
        results = []
        for path in self.photos:
            started = time.monotonic()
            with path.open("rb") as fh:  # read in place: the data never goes into the repository
                resp = self.post(http, f"/sessions/{session_uuid}/upload/", files={"file": (path.name, fh,
                                 "image/jpeg")}, referer=f"/sessions/{session_uuid}/",
                                 headers={"Accept": "application/json"})
            body = resp.json() if resp.headers.get("Content-Type", "").startswith("application/json") else {}
            results.append({"file": path.name, "status": resp.status_code, "photo": body.get("photo"),
                            "ms": round((time.monotonic() - started) * 1000, 1)})
            if resp.status_code != 201 or not body.get("ok"):
                raise SmokeFailure(f"upload {path.name}: {resp.status_code} {resp.text[:300]}")
        record["detail"] = ", ".join(f"{r['file']} {r['status']} ({r['ms']:.0f} ms)" for r in results)
        return results

    def poll_progress(self, http, session_uuid: str, record: dict, *, timeout: float) -> dict:
        started = time.monotonic()
        polls = 0
        state: dict = {}
        while time.monotonic() - started < timeout:
            resp = http.get(f"{self.base}/sessions/{session_uuid}/progress/", headers={"HX-Request": "true"},
                            timeout=10)
            polls += 1
            resp.raise_for_status()
            count = re.search(r"(\d+) of (\d+) done", resp.text)
            active = re.search(r'data-active="(true|false)"', resp.text)
            failed = re.search(r"badge-failed\">(\d+) failed", resp.text)
            state = {"finished": int(count.group(1)) if count else 0, "total": int(count.group(2)) if count else 0,
                     "active": active.group(1) == "true" if active else True,
                     "failed": int(failed.group(1)) if failed else 0}
            if not state["active"] and state["total"] == len(self.photos) and state["finished"] == state["total"]:
                break
            time.sleep(1.0)
        else:
            raise SmokeFailure(f"photos not done after {timeout:.0f} s: {state}\n{tail(self.logs / 'worker.log')}")
        state.update(polls=polls, seconds=round(time.monotonic() - started, 2))
        record["detail"] = f"{state['finished']}/{state['total']} done, {state['failed']} failed, {polls} polls"
        if state["failed"]:
            raise SmokeFailure(f"{state['failed']} photo(s) failed in the worker:\n{tail(self.logs / 'worker.log')}")
        return state

    def review(self, http, session_uuid: str, record: dict) -> list[dict]:
        resp = http.get(f"{self.base}/sessions/{session_uuid}/review/", timeout=30)
        resp.raise_for_status()
        cards = []
        for block in resp.text.split('<article id="card-')[1:]:
            block = block.split("</article>")[0]
            uuid = re.match(r"([0-9a-f-]{36})", block)
            verdict = re.search(r'data-verdict="([^"]*)"', block)
            fname = re.search(r'<span class="fname" title="([^"]*)"', block)
            reason = re.search(r'<p class="reason">(.*?)</p>', block, re.S)
            cards.append({"photo": uuid.group(1) if uuid else None, "file": fname.group(1) if fname else None,
                          "verdict": verdict.group(1) if verdict else None,
                          "reason": re.sub(r"\s+", " ", reason.group(1)).strip() if reason else "",
                          "has_thumbnail": "/thumb/" in block})
        blinking = [c for c in cards if c["verdict"] == "BLINKING"]
        record["detail"] = f"{len(cards)} cards, {len(blinking)} BLINKING"
        if len(cards) != len(self.photos):
            raise SmokeFailure(f"review page shows {len(cards)} cards for {len(self.photos)} photos")
        if not blinking or not all(c["reason"] for c in blinking):
            raise SmokeFailure(f"review page: no BLINKING card with a reason: {cards}")
        if "BLINKING" not in resp.text:
            raise SmokeFailure("review page never says BLINKING")
        return cards

    def thumbnail(self, http, photo_uuid: str, record: dict) -> dict:
        import requests
        from PIL import Image

        resp = http.get(f"{self.base}/photos/{photo_uuid}/thumb/", allow_redirects=False, timeout=10)
        location = resp.headers.get("Location", "")
        if resp.status_code != 302 or not location.startswith(f"{self.s3['endpoint']}/{self.s3['bucket']}/"):
            raise SmokeFailure(f"thumbnail: expected 302 to the bucket, got {resp.status_code} {location[:120]}")
        if "X-Amz-Signature=" not in location or "X-Amz-Expires=300" not in location:
            raise SmokeFailure(f"thumbnail URL is not a signed 300 s URL: {location}")
        # As the browser follows it: no cookies, straight to the object store.
        image = requests.get(location, timeout=10)
        if image.status_code != 200:
            raise SmokeFailure(f"signed thumbnail URL answered {image.status_code}")
        with Image.open(io.BytesIO(image.content)) as im:
            im.load()
            size, fmt = im.size, im.format
        info = {"redirect_cache_control": resp.headers.get("Cache-Control"), "bytes": len(image.content),
                "format": fmt, "size": list(size), "signed_url_host": location.split("/")[2]}
        record["detail"] = f"302 -> signed URL, {fmt} {size[0]}x{size[1]}, {len(image.content)} bytes"
        return info

    def static_files(self, http, record: dict) -> dict:
        import requests

        page = http.get(f"{self.base}/accounts/login/", timeout=10).text
        names = re.findall(r'(?:href|src)="(/static/[^"]+)"', page)
        hashed = [n for n in names if re.search(r"\.[0-9a-f]{12}\.(css|js)$", n)]
        if not hashed:
            raise SmokeFailure(f"no hashed static names in the page: {names}")
        url = hashed[0]
        plain = requests.get(f"{self.base}{url}", timeout=10)
        gz = requests.get(f"{self.base}{url}", headers={"Accept-Encoding": "gzip"}, timeout=10, stream=True)
        info = {"names": names, "checked": url, "status": plain.status_code,
                "cache_control": plain.headers.get("Cache-Control"), "bytes": len(plain.content),
                "gzip_encoding": gz.headers.get("Content-Encoding")}
        gz.close()
        if plain.status_code != 200 or "immutable" not in (plain.headers.get("Cache-Control") or ""):
            raise SmokeFailure(f"static file not served as an immutable hashed file: {info}")
        record["detail"] = f"{url} 200, {info['cache_control']}, gzip={info['gzip_encoding']}"
        return info

    @staticmethod
    def form_defaults(html: str) -> dict[str, str]:
        """The values a browser would submit for a form left as it is: selected options, checked radios."""
        values: dict[str, str] = {}
        for name, body in re.findall(r'<select name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
            chosen = (re.search(r'<option value="([^"]*)"[^>]*selected', body)
                      or re.search(r'<option value="([^"]*)"', body))
            values[name] = chosen.group(1) if chosen else ""
        for tag in re.findall(r"<input[^>]*>", html):
            name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
            if name and value and ('type="radio"' not in tag or " checked" in tag):
                values[name.group(1)] = value.group(1)
        return values

    def export_zip(self, http, session_uuid: str, cards: list[dict], record: dict) -> dict:
        import zipfile

        import requests

        page = http.get(f"{self.base}/sessions/{session_uuid}/exports/", timeout=30)
        page.raise_for_status()
        data = {**self.form_defaults(page.text), "format": "folders-zip"}
        resp = self.post(http, f"/sessions/{session_uuid}/exports/", data, referer=f"/sessions/{session_uuid}/exports/")
        detail_path = resp.headers.get("Location", "")
        if resp.status_code != 302 or "/exports/" not in detail_path:
            raise SmokeFailure(f"export: expected a redirect to the export, got {resp.status_code}")
        download = f"{detail_path}download/"
        deadline = time.monotonic() + 120
        while True:  # small sessions are built inside the request; bigger ones on the worker's exports queue
            got = http.get(f"{self.base}{download}", allow_redirects=False, timeout=30)
            if got.status_code != 404 or time.monotonic() > deadline:
                break
            time.sleep(1.0)
        location = got.headers.get("Location", "")
        if got.status_code != 302 or "X-Amz-Signature=" not in location:
            raise SmokeFailure(f"export download: expected 302 to a signed URL, got {got.status_code} {location[:120]}")
        blob = requests.get(location, timeout=30)
        if blob.status_code != 200:
            raise SmokeFailure(f"signed export URL answered {blob.status_code}")
        with zipfile.ZipFile(io.BytesIO(blob.content)) as zf:
            names = zf.namelist()
        info = {"bytes": len(blob.content), "entries": names,
                "content_disposition": blob.headers.get("Content-Disposition")}
        # Every photo once; those the review page calls BLINKING in the BLINKING/ folder.
        by_file = {n.rsplit("/", 1)[-1]: n for n in names}
        if sorted(by_file) != sorted(p.name for p in self.photos) or len(by_file) != len(names):
            raise SmokeFailure(f"export ZIP: expected each of {[p.name for p in self.photos]} once, got {names}")
        misfiled = [c["file"] for c in cards
                    if c["verdict"] == "BLINKING" and by_file[c["file"]] != f"BLINKING/{c['file']}"]
        if misfiled:
            raise SmokeFailure(f"export ZIP: BLINKING photos outside BLINKING/: {misfiled} in {names}")
        record["detail"] = f"{len(names)} entries, {len(blob.content)} bytes, {info['content_disposition']}"
        return info

    def wait_beat_sweep(self, record: dict) -> None:
        # beat -> broker (our key prefix) -> worker: the sweeper's first run is one interval after beat starts.
        log = self.logs / "worker.log"
        wait_for(lambda: re.search(r"sweep_stuck_photos_task\[[^\]]+\] succeeded", log.read_text(errors="replace")),
                 timeout=180, what="the sweeper sent by beat", proc=self.procs["worker"], every=1.0)
        record["detail"] = "sweep_stuck_photos_task ran on the worker"

    def worker_ping(self, record: dict) -> None:
        # Compose's worker health check.
        proc = subprocess.run([str(BIN / "celery"), "-A", "eyespy_site", "inspect", "ping",
                               "--destination", self.worker_node, "--timeout", "10"],
                              cwd=REPO, env=self.env, capture_output=True, text=True, timeout=60)
        out = (proc.stdout + proc.stderr).strip()
        record["detail"] = out.splitlines()[-1][:120] if out else ""
        if proc.returncode != 0 or "pong" not in out:
            raise SmokeFailure(f"celery inspect ping: rc={proc.returncode}\n{out}")

    def s3_contents(self, record: dict) -> dict:
        keys = []
        for page in self.s3_client.get_paginator("list_objects_v2").paginate(Bucket=self.s3["bucket"]):
            keys += [o["Key"] for o in page.get("Contents", [])]
        tops: dict[str, int] = {}
        for key in keys:
            tops[key.split("/")[0]] = tops.get(key.split("/")[0], 0) + 1
        local_media = self.var_dir / "media"
        local_files = [str(p) for p in local_media.rglob("*") if p.is_file()] if local_media.exists() else []
        record["detail"] = f"{len(keys)} objects {tops}; local media files: {len(local_files)}"
        if local_files:
            raise SmokeFailure(f"files were written to local media with STORAGE_BACKEND=s3: {local_files[:5]}")
        return {"objects": len(keys), "by_prefix": tops}

    # Shutdown --------------------------------------------------------------------------------------------------

    def stop_all(self) -> dict:
        stopped = {}
        for name in ("gunicorn", "worker", "beat", "moto"):
            proc = self.procs.get(name)
            if proc is None:
                continue
            started = time.monotonic()
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)  # the group we started for it
                    proc.wait(timeout=10)
                    stopped[name] = {"returncode": proc.returncode, "seconds": None, "killed": True}
                    continue
            # Children of gunicorn/celery left behind would still hold the group.
            try:
                os.killpg(proc.pid, 0)
                orphans = True
            except OSError:
                orphans = False
            stopped[name] = {"returncode": proc.returncode, "seconds": round(time.monotonic() - started, 2),
                             "killed": False, "orphans": orphans}
            if orphans:
                os.killpg(proc.pid, signal.SIGKILL)
        return stopped

    def cleanup(self) -> None:
        for name, fn in reversed(self.cleanups):
            try:
                fn()
            except Exception as exc:  # noqa: BLE001 - cleanup must go on; the failure is reported
                self.facts.setdefault("cleanup_errors", []).append(f"{name}: {type(exc).__name__}: {exc}")
        if not self.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # The whole run ----------------------------------------------------------------------------------------------

    def run(self) -> bool:
        ok = False
        try:
            with self.step("moto S3 server + private bucket"):
                self.start_s3()
            with self.step("PostgreSQL database") as rec:
                database_url = self.create_database()
                rec["detail"] = self.facts["database"]
            self.build_env(database_url)
            with self.step("manage.py migrate") as rec:
                self.manage_ok(rec, "migrate", "--noinput")
            with self.step("manage.py check --deploy") as rec:
                self.check_deploy(rec)
            with self.step("manage.py ensure_default_model") as rec:
                self.manage_ok(rec, "ensure_default_model")
            with self.step("manage.py collectstatic") as rec:
                self.manage_ok(rec, "collectstatic", "--noinput")
            self.email = f"smoke-{self.tag}@example.com"
            self.password = secrets.token_urlsafe(18)
            with self.step("manage.py createsuperuser --noinput") as rec:
                self.manage_ok(rec, "createsuperuser", "--noinput", env_extra={
                    "DJANGO_SUPERUSER_EMAIL": self.email, "DJANGO_SUPERUSER_PASSWORD": self.password})
            self.cleanups.append(("redis cache keys", lambda: self._clean_cache_keys(self._throttle_idents())))
            with self.step("start gunicorn, celery worker, celery beat") as rec:
                self.start_app()
                self.wait_app(rec)
            http = self.http_session()
            with self.step("log in through the form") as rec:
                self.login(http, rec)
            with self.step("create a session") as rec:
                session_uuid = self.create_session(http, rec)
            with self.step(f"upload {len(self.photos)} photos") as rec:
                self.facts["uploads"] = self.upload(http, session_uuid, rec)
            with self.step("poll the progress partial until done") as rec:
                self.facts["progress"] = self.poll_progress(http, session_uuid, rec, timeout=240)
            with self.step("review page") as rec:
                self.facts["cards"] = cards = self.review(http, session_uuid, rec)
            with self.step("thumbnail via signed S3 URL") as rec:
                target = next(c for c in cards if c["verdict"] == "BLINKING")
                self.facts["thumbnail"] = self.thumbnail(http, target["photo"], rec)
            with self.step("static file from WhiteNoise") as rec:
                self.facts["static"] = self.static_files(http, rec)
            with self.step("export (folders ZIP) via signed S3 URL") as rec:
                self.facts["export"] = self.export_zip(http, session_uuid, cards, rec)
            with self.step("bucket holds the media, local disk none") as rec:
                self.facts["s3"] = self.s3_contents(rec)
            with self.step("celery inspect ping (worker health check)") as rec:
                self.worker_ping(rec)
            if self.wait_beat:
                with self.step("beat schedules the sweeper, the worker runs it") as rec:
                    self.wait_beat_sweep(rec)
            ok = True
        except Exception as exc:  # noqa: BLE001 - any failure ends the run with a report, never a half-stopped stack
            self.facts["error"] = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            for name in self.procs:
                self.facts.setdefault("log_tails", {})[name] = tail(self.logs / f"{name}.log")
        finally:
            with self.step("stop everything (SIGTERM)") as rec:
                self.facts["stopped"] = stopped = self.stop_all()
                rec["detail"] = ", ".join(f"{n} rc={s['returncode']}" for n, s in stopped.items())
                bad = {n: s for n, s in stopped.items() if s["killed"] or s.get("orphans")
                       or (n != "moto" and s["returncode"] not in (0, None))}
                if bad:
                    ok = False
                    rec["detail"] += f"; not clean: {bad}"
            # Logs worth keeping in the report before the temp folder goes.
            self.facts["worker_log_tail"] = tail(self.logs / "worker.log", 12)
            self.facts["beat_log_tail"] = tail(self.logs / "beat.log", 6)
            self.cleanup()
            if self.facts.get("cleanup_errors"):
                ok = False
        return ok and all(s["ok"] for s in self.steps)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS, help="folder of photos to upload (3 used)")
    parser.add_argument("--n", type=int, default=3, help="how many photos to upload")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (logs, static files, var)")
    parser.add_argument("--worker-concurrency", type=int, default=2, help="compose's EYESPY_WORKER_CONCURRENCY")
    parser.add_argument("--web-workers", type=int, default=3, help="gunicorn --workers (the Dockerfile CMD's 3)")
    parser.add_argument("--wait-beat", action="store_true",
                        help="also wait (~2 min) for beat's first sweeper task to run on the worker")
    args = parser.parse_args(argv)

    photos = sorted(p for p in args.photos.glob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})[: args.n]
    if len(photos) < args.n:
        print(f"Need {args.n} photos in {args.photos}, found {len(photos)}.", file=sys.stderr)
        return 2

    started = time.monotonic()
    smoke = StackSmoke(photos=photos, keep=args.keep, worker_concurrency=args.worker_concurrency,
                       web_workers=args.web_workers, wait_beat=args.wait_beat)
    ok = smoke.run()
    total = round(time.monotonic() - started, 2)

    result = {"ok": ok, "total_seconds": total, "steps": smoke.steps, **smoke.facts}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, default=str) + "\n")

    print("\n" + "=" * 78)
    print(f" Eye Spy stack smoke: {'PASSED' if ok else 'FAILED'} in {total:.1f} s")
    print("=" * 78)
    for s in smoke.steps:
        print(f" {'ok  ' if s['ok'] else 'FAIL'} {s['seconds']:7.2f} s  {s['step']}")
    check = smoke.facts.get("check_deploy")
    if check:
        print("\n manage.py check --deploy said:")
        print("   " + check["output"].replace("\n", "\n   "))
    for card in smoke.facts.get("cards", []):
        print(f"\n {card['file']}: {card['verdict']} - {card['reason']}", end="")
    if smoke.facts.get("cards"):
        print()
    if smoke.facts.get("error"):
        print(f"\n Error: {smoke.facts['error']}")
        for name, text in smoke.facts.get("log_tails", {}).items():
            print(f"\n --- {name} log (tail) ---\n{text}")
    print(f"\n JSON: {args.json}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
