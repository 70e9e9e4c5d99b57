"""Eye Spy settings.

Everything comes from environment variables (see README "Configuration"). With none set you get a
zero-service local install: SQLite and media under ./var, an embedded Redis broker on a unix socket (started
by bin/run), console email.
"""
from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from . import embedded_redis
from .env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("EYESPY_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)  # the SQLite default lives here: a first `manage.py migrate` just works

# --- Core -------------------------------------------------------------------------------------------
# 50+ characters like any key (check --deploy W009), so a dev key copied somewhere still passes the length check
# honestly; it is refused by name when DEBUG is off.
DEV_SECRET_KEY = "dev-only-insecure-key-change-me-never-use-it-in-production"
DEBUG = env_bool("DEBUG", True)
# Django's own debug 404/500 pages (URL patterns, settings) only when asked for: DEBUG is on by default.
EYESPY_DEBUG_PAGES = env_bool("EYESPY_DEBUG_PAGES", False)
SECRET_KEY = env_str("SECRET_KEY", DEV_SECRET_KEY)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# Links in mails and the gallery's "Copy link": by default the address bin/run serves (PORT=8765 bin/run -> :8765).
SITE_URL = env_str("SITE_URL", f"http://127.0.0.1:{env_str('PORT', '8000')}").rstrip("/")

if not DEBUG:
    # Refuse to start with development defaults in production.
    if SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("Set SECRET_KEY (>= 50 random characters) when DEBUG is off.")
    if not ALLOWED_HOSTS or "*" in ALLOWED_HOSTS:
        raise ImproperlyConfigured("Set ALLOWED_HOSTS to your host names when DEBUG is off ('*' is refused).")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "sessions_app",
    "classifier",
    "review",
    "learning",
    "galleries",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "eyespy_site.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before the CSRF check reads the body: refuses anonymous, foreign and oversized uploads unread, and
    # answers unparsable ones readably (sessions_app/middleware.py).
    "sessions_app.middleware.UploadGateMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # no-store on photographer pages; our 404/500 pages even with DEBUG on (sessions_app/middleware.py).
    "sessions_app.middleware.ReviewTruthMiddleware",
]

ROOT_URLCONF = "eyespy_site.urls"
WSGI_APPLICATION = "eyespy_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "galleries.context.gallery_badge",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------------
# SQLite just works for one studio on one machine; set DATABASE_URL=postgres://... for production.
_SQLITE_DEFAULT = f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(env_str("DATABASE_URL", _SQLITE_DEFAULT), conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Web and worker write concurrently: wait for locks instead of failing, take write locks up front.
    # WAL with synchronous=NORMAL: a commit no longer fsyncs (on ext4 each fsync also flushed the photo
    # files just written: 5 ms of every upload and two per processed photo). The database can't be
    # corrupted this way; a power cut may undo the last commits, which the sweeper and re-upload absorb.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20, "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
elif env_bool("DATABASE_SERVER_SIDE_BINDING", True):
    # psycopg prepares a statement it has run 5 times: the review's dozen small queries per key press stop
    # being planned again each time (PostgreSQL correction 35 -> 28 ms). Off behind a transaction-pooling proxy.
    DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ------------------------------------------------------------------------------------------
# Login throttling counts failures here. Local memory is per process: set CACHE_URL=redis://... when
# several web workers run, so they share the counts.
CACHE_URL = env_str("CACHE_URL")
if not CACHE_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "eyespy"}}
elif CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL, "KEY_PREFIX": "eyespy"}
    }
else:
    raise ImproperlyConfigured(f"CACHE_URL must be a redis:// URL (or empty for local memory), got {CACHE_URL!r}")

# --- Accounts ---------------------------------------------------------------------------------------
AUTH_USER_MODEL = "sessions_app.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "sessions:dashboard"
LOGOUT_REDIRECT_URL = "login"
EYESPY_ALLOW_SIGNUP = env_bool("EYESPY_ALLOW_SIGNUP", True)
# Proxies in front of the app that append the client's address to X-Forwarded-For (login throttling
# counts per client address; 0 = use the connection's own address).
EYESPY_TRUSTED_PROXIES = env_int("EYESPY_TRUSTED_PROXIES", 0)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Email ------------------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Eye Spy <noreply@localhost>")
EMAIL_HOST = env_str("EMAIL_HOST")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("EMAIL_PORT", 587)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

# --- Static and media -------------------------------------------------------------------------------
STATIC_URL = "/static/"
# The image collects into /app/staticfiles at build time; STATIC_ROOT lets a build or check collect elsewhere.
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
# Media is never served by URL: views check ownership and stream it, or redirect to a signed S3 URL.
MEDIA_URL = None

STORAGE_BACKEND = env_str("STORAGE_BACKEND", "local")
if STORAGE_BACKEND == "s3":
    from botocore.config import Config as BotoConfig
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL") or None,
            "region_name": env_str("AWS_S3_REGION_NAME") or None,
            "access_key": env_str("AWS_ACCESS_KEY_ID"),
            "secret_key": env_str("AWS_SECRET_ACCESS_KEY"),
            "default_acl": "private",
            "querystring_auth": True,  # signed URLs only
            "querystring_expire": env_int("AWS_QUERYSTRING_EXPIRE", 300),
            "file_overwrite": False,
            "signature_version": "s3v4",
            # botocore's "standard" retries: 503 SlowDown, 5xx and dropped connections are retried with
            # backoff inside each call (5 tries) before a job sees them, and then the job retries too.
            "client_config": BotoConfig(signature_version="s3v4", retries={"mode": "standard", "total_max_attempts": 5}),
        },
    }
    if not _default_storage["OPTIONS"]["bucket_name"]:
        raise ImproperlyConfigured("STORAGE_BACKEND=s3 needs AWS_STORAGE_BUCKET_NAME.")
elif STORAGE_BACKEND == "local":
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "base_url": None},
    }
else:
    raise ImproperlyConfigured(f"STORAGE_BACKEND must be 'local' or 's3', got {STORAGE_BACKEND!r}")
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Uploads ----------------------------------------------------------------------------------------
EYESPY_MAX_UPLOAD_BYTES = env_int("EYESPY_MAX_UPLOAD_MB", 200) * 1024 * 1024
# The plain (no-JavaScript) form sends many files in one request; upload.js sends one per request.
EYESPY_MAX_FORM_UPLOAD_BYTES = env_int("EYESPY_MAX_FORM_UPLOAD_MB", 2048) * 1024 * 1024
EYESPY_MAX_PIXELS = env_int("EYESPY_MAX_MEGAPIXELS", 150) * 1_000_000
# With S3 storage the browser sends each file straight to the bucket (a presigned POST) and the app records
# it after checking the stored object; web servers carry no photo bytes. Ignored with local storage.
EYESPY_DIRECT_UPLOADS = env_bool("EYESPY_DIRECT_UPLOADS", True)
EYESPY_DIRECT_UPLOAD_EXPIRE_S = env_int("EYESPY_DIRECT_UPLOAD_EXPIRE_S", 15 * 60)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024  # bigger files spool to a temp file, never all in RAM

# --- Celery -----------------------------------------------------------------------------------------
# Default: the embedded Redis that bin/run starts on a unix socket under var/ (eyespy_site/embedded_redis.py),
# so a local install has production's broker semantics. Production: CELERY_BROKER_URL=redis://host:6379/0.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or embedded_redis.broker_url(VAR_DIR)
if CELERY_BROKER_URL.startswith(("filesystem:", "sqla+")):
    # They lose what a dead worker held, and the filesystem one crashed under load (docs/ARCHITECTURE.md, "Failure modes" and "Brokers").
    raise ImproperlyConfigured(f"CELERY_BROKER_URL {CELERY_BROKER_URL!r} is unsafe; use Redis (or leave it unset)")
_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Longer than the longest task: a message unacked this long belonged to a dead worker and is
    # delivered again. Restore scans run every interval and act every time (kombu's throttle of 10
    # would add ~100 s; shared/notes/platform-checks.md).
    "visibility_timeout": _VISIBILITY_TIMEOUT,
    "unacked_restore_interval": max(1, min(10, _VISIBILITY_TIMEOUT // 4)),
    "unacked_restore_throttle": 1,
}
if env_str("CELERY_BROKER_KEY_PREFIX"):
    # Several installs (or test runs) sharing one Redis database keep their queues apart.
    CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] = env_str("CELERY_BROKER_KEY_PREFIX")
# A broker that stops answering must not hold up an upload. A Redis that is frozen (a stalled VM) or cut off
# by the network keeps its connections open, so only a read timeout ends a publish (the connection timeout
# below never reaches kombu's Redis transport). Web side, these defaults: each read or connect gives up after
# 0.5 s and a publish is tried twice, 0.2 s apart, so it gives up within ~2 s (measured 1.2-1.7 s); the photo
# is then marked unsent and the workers re-send it (classifier/unsent_sender.py). redis-py closes a connection
# whose read timed out, so no stale reply is read by the next command; no retry_on_timeout, which would repeat
# each try inside redis-py.
CELERY_BROKER_TRANSPORT_OPTIONS.update(socket_timeout=0.5, socket_connect_timeout=0.5, retry_on_timeout=False)
CELERY_BROKER_CONNECTION_TIMEOUT = 2  # kombu's bound on reconnecting for a channel (e.g. reading a queue's depth)
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0.2, "interval_step": 0.3, "interval_max": 0.5}
# The worker keeps no read timeout (applied when it starts, eyespy_site/celery.py): there a stalled broker only
# delays work, and it waits the stall out. An ack given up on leaves its message holding the worker's
# prefetch slot, and the worker takes nothing more until it restarts (the web's timeouts did exactly that in
# tests/integration/test_frozen_broker.py). A dead consumer connection is kombu's BRPOP check's job (~26 s).
EYESPY_WORKER_BROKER_TRANSPORT_OPTIONS = {"socket_timeout": None, "socket_connect_timeout": 5.0}
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# The one place for it: no worker command line repeats it (a flag there would win over this).
CELERY_WORKER_MAX_TASKS_PER_CHILD = env_int("CELERY_WORKER_MAX_TASKS_PER_CHILD", 200)
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env_int("CELERY_WORKER_MAX_MEMORY_PER_CHILD_KB", 1_500_000)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 120)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 180)
CELERY_TASK_DEFAULT_QUEUE = "photos"
CELERY_TASK_ROUTES = {
    "classifier.tasks.process_photo_task": {"queue": "photos"},
    "classifier.tasks.sweep_stuck_photos_task": {"queue": "photos"},
    # 100 % eye zooms: a photographer is waiting, so they don't queue behind a session's photos.
    "classifier.tasks.make_eye_zoom_task": {"queue": "zooms"},
    "sessions_app.tasks.*": {"queue": "exports"},
    "classifier.tasks.retrain_model_task": {"queue": "training"},
    "classifier.tasks.sync_training_examples_task": {"queue": "training"},
    "classifier.tasks.sweep_stale_training_runs_task": {"queue": "photos"},
}
CELERY_BEAT_SCHEDULE = {
    "sweep-stuck-photos": {
        "task": "classifier.tasks.sweep_stuck_photos_task",
        "schedule": float(env_int("EYESPY_SWEEP_EVERY_SECONDS", 120)),
    },
    "sweep-stale-training-runs": {"task": "classifier.tasks.sweep_stale_training_runs_task", "schedule": 120.0},
}
# Photos stuck in processing longer than this are re-queued (or failed after EYESPY_MAX_ATTEMPTS).
EYESPY_STUCK_AFTER_SECONDS = env_int("EYESPY_STUCK_AFTER_SECONDS", CELERY_TASK_TIME_LIMIT + 60)
# Pool children (the photo work) yield the CPU to the web server, the broker and the worker's own
# dispatcher on a shared machine: the review stays quick during a session, and the next task is handed
# out without waiting for a busy core. 0 = the same priority. (Raising a priority again needs root.)
EYESPY_WORKER_CHILD_NICE = env_int("EYESPY_WORKER_CHILD_NICE", 5)
EYESPY_MAX_ATTEMPTS = env_int("EYESPY_MAX_ATTEMPTS", 3)

# --- Security (production) --------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)

# --- I18N / misc ------------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Eye Spy ----------------------------------------------------------------------------------------
# Exports: up to this many photos are built inside the request; bigger ones go to the `exports` queue.
EYESPY_EXPORT_INLINE_MAX_PHOTOS = env_int("EYESPY_EXPORT_INLINE_MAX_PHOTOS", 50)
# ZIPs are written to a temporary file on this disk before going to storage (never held in memory):
# it needs room for the biggest session's originals. Empty = the system temp folder.
EYESPY_EXPORT_TMP_DIR = env_str("EYESPY_EXPORT_TMP_DIR", "") or None
# Folders on this server the session page may read editor decisions from: each photographer only below
# <root>/<their email>/ (unset: the page offers nothing; `manage.py read_decisions` reads any folder).
EYESPY_EDITOR_FOLDERS_ROOT = env_str("EYESPY_EDITOR_FOLDERS_ROOT", "") or None

# --- Learning loop (retraining) ---------------------------------------------------------------------
# Optional research data (CEW eye patches and faces, shared/data/SOURCES.md; research use only, never shipped).
# Missing or empty: runs fine-tune on the corrections plus the guard crops (learning/services/guard_crops.py).
EYESPY_TRAINING_DATA_DIR = Path(env_str("EYESPY_TRAINING_DATA_DIR", str(BASE_DIR.parent / "shared" / "data")))
# Eyes cut from the base face images too (slower the first time: ~1.5 min, then cached).
EYESPY_TRAINING_USE_FACES = env_bool("EYESPY_TRAINING_USE_FACES", True)
EYESPY_TRAINING_SEED = env_int("EYESPY_TRAINING_SEED", 20240601)
EYESPY_TRAINING_EPOCHS_FINETUNE = env_int("EYESPY_TRAINING_EPOCHS_FINETUNE", 4)
EYESPY_TRAINING_EPOCHS_SCRATCH = env_int("EYESPY_TRAINING_EPOCHS_SCRATCH", 30)
# A fine-tune on a small set runs more epochs, so it gets at least this many optimiser steps (batches of 64).
EYESPY_TRAINING_MIN_STEPS = env_int("EYESPY_TRAINING_MIN_STEPS", 60)
EYESPY_TRAINING_THREADS = env_int("EYESPY_TRAINING_THREADS", 2)
# Each correction crop counts this many times a base crop in the loss (they are the photographer's own taste).
EYESPY_TRAINING_CORRECTION_WEIGHT = float(env_str("EYESPY_TRAINING_CORRECTION_WEIGHT", "3.0"))
# Percent of sessions whose examples are frozen for validation (by session, deterministic, never trained on).
EYESPY_TRAINING_FROZEN_PERCENT = env_int("EYESPY_TRAINING_FROZEN_PERCENT", 20)
# The gate: a candidate may lose at most this much base-validation accuracy against the live model.
EYESPY_GATE_BASE_TOLERANCE = float(env_str("EYESPY_GATE_BASE_TOLERANCE", "0.005"))
# Without research data the base check is agreement with the live model's confident calls on uncorrected photos:
# a candidate that learned the corrections may move a few of them, so the allowance is wider.
EYESPY_GATE_GUARD_TOLERANCE = float(env_str("EYESPY_GATE_GUARD_TOLERANCE", "0.02"))
# The gate decides on the frozen corrections only from this many eye crops on (fewer: the live model stays).
EYESPY_GATE_MIN_FROZEN = env_int("EYESPY_GATE_MIN_FROZEN", 30)
# Without research data a run needs at least this many training eye crops from corrections (fewer: not run).
EYESPY_TRAINING_MIN_EXAMPLES = env_int("EYESPY_TRAINING_MIN_EXAMPLES", 10)
# Uncorrected photos read for the guard against forgetting (the live model's confident calls on their eyes).
EYESPY_TRAINING_GUARD_PHOTOS = env_int("EYESPY_TRAINING_GUARD_PHOTOS", 300)
# A running training run whose heartbeat is older than this is marked failed (its worker was killed).
EYESPY_TRAINING_STALE_SECONDS = env_int("EYESPY_TRAINING_STALE_SECONDS", 300)
EYESPY_TRAINING_TIME_LIMIT = env_int("EYESPY_TRAINING_TIME_LIMIT", 3600)
# The personal strictness suggestion switches on after this many decisions.
EYESPY_PERSONAL_MIN_DECISIONS = env_int("EYESPY_PERSONAL_MIN_DECISIONS", 20)
