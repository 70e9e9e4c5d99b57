"""A real S3 API server for tests: `moto` in server mode, as a subprocess on 127.0.0.1 (no Docker, no network).

Why a server and not moto's in-process mock: the web test process, the Celery worker subprocess and
plain HTTP clients (a browser following a signed URL) must all reach the same bucket over HTTP, as in
production, where web and workers share no disk.

The storage configuration is not copied: `storage_config` runs eyespy_site/settings.py itself with
STORAGE_BACKEND=s3 and the server's AWS_* values, and returns the STORAGES["default"] it builds.
"""
from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import pytest

from tests.conftest import ROOT, require

REGION = "us-east-1"


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    bucket: str
    access_key: str = "eyespy-test-key"
    secret_key: str = "eyespy-test-secret"

    def env(self) -> dict[str, str]:
        """What a web or worker process needs in its environment to use this bucket (see settings.py)."""
        return {
            "STORAGE_BACKEND": "s3",
            "AWS_STORAGE_BUCKET_NAME": self.bucket,
            "AWS_S3_ENDPOINT_URL": self.endpoint,
            "AWS_S3_REGION_NAME": REGION,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
        }

    def client(self):
        import boto3

        return boto3.client(
            "s3", endpoint_url=self.endpoint, region_name=REGION,
            aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key,
        )

    def keys(self, prefix: str = "") -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))

    def read(self, key: str) -> bytes:
        return self.client().get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def object_url(self, key: str) -> str:
        """The plain (unsigned, path-style) URL of an object."""
        return f"{self.endpoint}/{self.bucket}/{key}"


def storage_config(server: S3Server, var_dir: Path) -> dict:
    """STORAGES["default"] exactly as eyespy_site/settings.py builds it for STORAGE_BACKEND=s3."""
    path = ROOT / "eyespy_site" / "settings.py"
    # A throwaway module inside the package, so settings.py's relative imports work; never registered.
    spec = importlib.util.spec_from_file_location("eyespy_site._s3_settings_probe", path)
    module = importlib.util.module_from_spec(spec)
    with mock.patch.dict(os.environ, {**server.env(), "EYESPY_VAR_DIR": str(var_dir)}):
        spec.loader.exec_module(module)
    return module.STORAGES["default"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_listening(port: int, proc: subprocess.Popen, log_path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"moto server exited with {proc.returncode}:\n{log_path.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"moto server not listening on {port} after {timeout:.0f} s")


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory):
    """A moto S3 server subprocess with one private bucket. Skips locally (fails in CI) without moto."""
    require(
        importlib.util.find_spec("moto") is not None and importlib.util.find_spec("flask") is not None,
        "moto[server] is not installed (pip install -r requirements-dev.txt)",
    )
    port = _free_port()
    log_path = tmp_path_factory.mktemp("moto") / "moto.log"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        _wait_listening(port, proc, log_path)
        server = S3Server(endpoint=f"http://127.0.0.1:{port}", bucket=f"eyespy-test-{uuid.uuid4().hex[:8]}")
        server.client().create_bucket(Bucket=server.bucket, ACL="private")
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def s3_storage_config(moto_server, tmp_path_factory) -> dict:
    return storage_config(moto_server, tmp_path_factory.mktemp("s3-settings-var"))


@pytest.fixture
def s3_media(settings, s3_storage_config, tmp_path):
    """This test's default storage is the moto bucket, configured as settings.py does for production.

    MEDIA_ROOT still points at an (empty) local folder, so a test can prove nothing was written there.
    """
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {**settings.STORAGES, "default": s3_storage_config}
    return settings.MEDIA_ROOT
