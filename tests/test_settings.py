"""Settings from the environment: production is safe (`check --deploy` clean), unsafe values refuse to start.

Each case runs Django in a subprocess with a clean environment: settings are read once per process.
"""
from __future__ import annotations

import json
import secrets
import subprocess
import sys

import pytest

from tests.conftest import ROOT

STRONG_KEY = secrets.token_urlsafe(50)
PRODUCTION = {"DEBUG": "false", "SECRET_KEY": STRONG_KEY, "ALLOWED_HOSTS": "eyespy.example.com"}

SHOW_SETTINGS = """
import json, django
from django.conf import settings
django.setup()
db = settings.DATABASES["default"]
from django.core.files.storage import storages
print(json.dumps({
    "db": {k: db.get(k) for k in ("ENGINE", "NAME", "USER", "HOST", "PORT", "CONN_MAX_AGE")},
    "db_options": db.get("OPTIONS", {}),
    "storage": type(storages["default"]).__name__,
    "broker": settings.CELERY_BROKER_URL,
    "broker_options": getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}),
}, default=str))
"""


def _run(args: list[str], env: dict[str, str], tmp_path) -> subprocess.CompletedProcess:
    full_env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "eyespy_site.settings",
        "PYTHONPATH": str(ROOT),
        "EYESPY_VAR_DIR": str(tmp_path / "var"),
        **env,
    }
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=120
    )


def _settings(env: dict[str, str], tmp_path) -> dict:
    proc = _run(["-c", SHOW_SETTINGS], env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_check_deploy_is_clean_in_production_mode(tmp_path):
    proc = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], PRODUCTION, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "System check identified no issues (0 silenced)." in proc.stdout


def test_check_deploy_is_clean_with_the_compose_configuration(tmp_path):
    env = {
        **PRODUCTION,
        "DATABASE_URL": "postgres://eyespy:secret@postgres:5432/eyespy",
        "CELERY_BROKER_URL": "redis://redis:6379/0",
        "CACHE_URL": "redis://redis:6379/1",
        "STORAGE_BACKEND": "s3",
        "AWS_STORAGE_BUCKET_NAME": "eyespy",
        "AWS_S3_ENDPOINT_URL": "http://minio:9000",
        "AWS_ACCESS_KEY_ID": "eyespy",
        "AWS_SECRET_ACCESS_KEY": "not-a-real-secret",
    }
    proc = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    "env, message",
    [
        ({"DEBUG": "false", "ALLOWED_HOSTS": "eyespy.example.com"}, "Set SECRET_KEY"),
        ({**PRODUCTION, "SECRET_KEY": "dev-only-insecure-key-change-me"}, "Set SECRET_KEY"),
        ({**PRODUCTION, "SECRET_KEY": "too-short"}, "Set SECRET_KEY"),
        ({**PRODUCTION, "ALLOWED_HOSTS": ""}, "Set ALLOWED_HOSTS"),
        ({**PRODUCTION, "ALLOWED_HOSTS": "*"}, "'*' is refused"),
        ({**PRODUCTION, "ALLOWED_HOSTS": "eyespy.example.com,*"}, "'*' is refused"),
        ({"DEBUG": "maybe"}, "DEBUG must be a boolean"),
        ({"STORAGE_BACKEND": "ftp"}, "STORAGE_BACKEND must be 'local' or 's3'"),
        ({**PRODUCTION, "SECRET_KEY": "x" * 49}, "Set SECRET_KEY (>= 50"),
        ({"STORAGE_BACKEND": "s3"}, "needs AWS_STORAGE_BUCKET_NAME"),
        ({"CELERY_BROKER_URL": "filesystem://"}, "is unsafe; use Redis"),
    ],
    ids=["no-key", "dev-key", "short-key", "no-hosts", "star-host", "star-among-hosts", "bad-bool", "bad-storage",
         "49-char-key", "s3-no-bucket", "filesystem-broker"],
)
def test_startup_refuses_unsafe_or_broken_configuration(env, message, tmp_path):
    proc = _run(["manage.py", "check"], env, tmp_path)
    assert proc.returncode != 0
    assert "ImproperlyConfigured" in proc.stderr
    assert message in proc.stderr


def test_secret_key_can_come_from_a_file(tmp_path):
    key_file = tmp_path / "secret_key"
    key_file.write_text(STRONG_KEY + "\n")
    env = {**PRODUCTION, "SECRET_KEY_FILE": str(key_file)}
    del env["SECRET_KEY"]
    proc = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env, tmp_path)
    assert proc.returncode == 0, proc.stderr


def test_defaults_are_zero_service(tmp_path):
    shown = _settings({}, tmp_path)
    assert shown["db"]["ENGINE"] == "django.db.backends.sqlite3"
    assert shown["db"]["NAME"] == str(tmp_path / "var" / "db.sqlite3")
    assert shown["db_options"]["transaction_mode"] == "IMMEDIATE"
    assert shown["storage"] == "FileSystemStorage"
    # The embedded Redis on a unix socket under var/ (bin/run starts it), with production's redelivery settings.
    assert shown["broker"] == f"redis+socket://{tmp_path / 'var' / 'run' / 'redis.sock'}"
    assert shown["broker_options"]["visibility_timeout"] == 3600
    assert shown["broker_options"]["unacked_restore_throttle"] == 1


SHOW_SQLITE_PRAGMAS = """
import json, django
django.setup()
from django.db import connection
with connection.cursor() as cursor:
    print(json.dumps({name: cursor.execute(f"PRAGMA {name}").fetchone()[0] for name in ("journal_mode", "synchronous")}))
"""


def test_sqlite_commits_without_an_fsync_each(tmp_path):
    # WAL + synchronous=NORMAL (1): commits are not fsynced one by one; FULL (2) cost every upload 5 ms.
    proc = _run(["-c", SHOW_SQLITE_PRAGMAS], {}, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {"journal_mode": "wal", "synchronous": 1}


def test_visibility_timeout_is_configurable_and_restores_are_scanned_within_it(tmp_path):
    shown = _settings({"CELERY_VISIBILITY_TIMEOUT": "8"}, tmp_path)
    assert shown["broker_options"]["visibility_timeout"] == 8
    assert shown["broker_options"]["unacked_restore_interval"] == 2


def test_sqlite_database_url_parses(tmp_path):
    shown = _settings({"DATABASE_URL": f"sqlite:///{tmp_path}/other.sqlite3"}, tmp_path)
    assert shown["db"]["ENGINE"] == "django.db.backends.sqlite3"
    assert shown["db"]["NAME"] == f"{tmp_path}/other.sqlite3"
    assert shown["db"]["CONN_MAX_AGE"] == 0


def test_postgres_database_url_parses(tmp_path):
    shown = _settings({"DATABASE_URL": "postgres://eyespy:secret@db.internal:6543/studio"}, tmp_path)
    assert shown["db"] == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "studio",
        "USER": "eyespy",
        "HOST": "db.internal",
        "PORT": 6543,
        "CONN_MAX_AGE": 60,
    }


def test_redis_broker_gets_a_visibility_timeout_and_optional_key_prefix(tmp_path):
    shown = _settings(
        {"CELERY_BROKER_URL": "redis://redis:6379/0", "CELERY_BROKER_KEY_PREFIX": "studio-a:"}, tmp_path
    )
    assert shown["broker"] == "redis://redis:6379/0"
    assert shown["broker_options"]["visibility_timeout"] == 3600
    assert shown["broker_options"]["global_keyprefix"] == "studio-a:"


def test_s3_storage_serves_only_short_lived_signed_urls(tmp_path):
    code = """
import django, json
django.setup()
from django.core.files.storage import storages
from storages.backends.s3 import S3Storage
storage = storages["default"]
print(json.dumps({
    "class": type(storage).__name__,
    "is_s3": isinstance(storage, S3Storage),
    "acl": storage.default_acl,
    "signed": storage.querystring_auth,
    "expire": storage.querystring_expire,
    "overwrite": storage.file_overwrite,
    "url": storage.url("photos/abc/def.jpg"),
    "retries": storage.connection.meta.client.meta.config.retries,
}))
"""
    env = {
        "STORAGE_BACKEND": "s3",
        "AWS_STORAGE_BUCKET_NAME": "eyespy",
        "AWS_S3_ENDPOINT_URL": "http://minio:9000",
        "AWS_ACCESS_KEY_ID": "eyespy",
        "AWS_SECRET_ACCESS_KEY": "not-a-real-secret",
        "AWS_S3_REGION_NAME": "us-east-1",
    }
    proc = _run(["-c", code], env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout.strip().splitlines()[-1])
    assert shown["is_s3"] and shown["class"] == "S3Storage"
    assert (shown["acl"], shown["signed"], shown["expire"], shown["overwrite"]) == ("private", True, 300, False)
    url = shown["url"]
    assert url.startswith("http://minio:9000/eyespy/photos/abc/def.jpg?")
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=300" in url
    # 503 SlowDown and 5xx answers are retried with backoff inside each call.
    assert shown["retries"]["mode"] == "standard" and shown["retries"]["total_max_attempts"] == 5


SHOW_CACHE = """
import json, django
django.setup()
from django.conf import settings
from django.core.cache import caches
print(json.dumps({**settings.CACHES["default"], "class": type(caches["default"]).__name__}))
"""


def test_cache_is_local_memory_by_default_and_redis_from_cache_url(tmp_path):
    proc = _run(["-c", SHOW_CACHE], {}, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1])["class"] == "LocMemCache"
    proc = _run(["-c", SHOW_CACHE], {"CACHE_URL": "redis://redis:6379/1"}, tmp_path)
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout.strip().splitlines()[-1])
    assert shown["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert (shown["LOCATION"], shown["class"]) == ("redis://redis:6379/1", "RedisCache")


def test_cache_url_with_another_scheme_refuses_to_start(tmp_path):
    proc = _run(["manage.py", "check"], {"CACHE_URL": "memcached://cache:11211"}, tmp_path)
    assert proc.returncode != 0
    assert "CACHE_URL must be a redis:// URL" in proc.stderr



def test_postgres_binds_on_the_server_unless_switched_off(tmp_path):
    url = {"DATABASE_URL": "postgres://eyespy:secret@db.internal:5432/studio"}
    assert _settings(url, tmp_path)["db_options"]["server_side_binding"] is True
    off = _settings({**url, "DATABASE_SERVER_SIDE_BINDING": "false"}, tmp_path)
    assert "server_side_binding" not in off["db_options"]
