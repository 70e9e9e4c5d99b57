"""docker-compose.yml and the Dockerfile, checked statically (no Docker engine runs here).

What a broken file would mean in production: a service that starts before its database is ready,
a worker without the broker, a web container without S3, an unhealthy container nobody notices.
"""
from __future__ import annotations

import re

import pytest
import yaml

from tests.conftest import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
APP_SERVICES = ("migrate", "web", "worker", "beat")
LONG_RUNNING = ("postgres", "redis", "minio", "web", "worker", "beat")


def _command(service: str) -> str:
    command = SERVICES[service].get("command", "")
    return " ".join(command) if isinstance(command, list) else command


def _depends(service: str) -> dict:
    return SERVICES[service].get("depends_on", {})


def test_all_services_are_there():
    assert set(SERVICES) == {"postgres", "redis", "minio", "createbucket", "migrate", "web", "worker", "beat"}


def test_third_party_images_are_pinned():
    for service in ("postgres", "redis", "minio", "createbucket"):
        image = SERVICES[service]["image"]
        name, _, tag = image.partition(":")
        assert tag and tag != "latest", f"{service} image {image!r} must pin a version"


def test_app_services_build_this_repository():
    for service in APP_SERVICES:
        assert SERVICES[service]["build"] == ".", service
        assert SERVICES[service]["image"] == SERVICES["web"]["image"]  # one image for all


def test_app_services_get_the_production_environment():
    for service in APP_SERVICES:
        env = SERVICES[service]["environment"]
        assert env["DEBUG"] == "false"
        assert env["DATABASE_URL"].startswith("postgres://") and "@postgres:5432/" in env["DATABASE_URL"]
        assert env["CELERY_BROKER_URL"] == "redis://redis:6379/0"
        assert env["CACHE_URL"] == "redis://redis:6379/1"  # login throttling, shared by all web workers
        assert env["EYESPY_TRUSTED_PROXIES"] == "${EYESPY_TRUSTED_PROXIES:-1}"  # behind the TLS proxy
        assert env["STORAGE_BACKEND"] == "s3"
        assert "minio" in env["AWS_S3_ENDPOINT_URL"] and env["AWS_S3_ENDPOINT_URL"].endswith(":9000}")
        for key in ("SECRET_KEY", "ALLOWED_HOSTS", "AWS_STORAGE_BUCKET_NAME", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            assert env.get(key), f"{service} lacks {key}"


def test_secrets_are_required_from_the_environment_never_defaulted():
    env = SERVICES["web"]["environment"]
    for key in ("SECRET_KEY", "AWS_SECRET_ACCESS_KEY"):
        assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]+\}", env[key]), f"{key} must be ${{VAR:?message}}: {env[key]}"
    assert ":?" in env["DATABASE_URL"]  # the postgres password
    assert ":?" in SERVICES["postgres"]["environment"]["POSTGRES_PASSWORD"]
    assert ":?" in SERVICES["minio"]["environment"]["MINIO_ROOT_PASSWORD"]
    assert "*" not in env["ALLOWED_HOSTS"]


@pytest.mark.parametrize("service", LONG_RUNNING)
def test_long_running_services_have_healthchecks(service):
    check = SERVICES[service]["healthcheck"]
    assert check["test"], service
    assert "interval" in check and "retries" in check


def test_infrastructure_healthchecks_ask_the_right_thing():
    assert "pg_isready" in " ".join(SERVICES["postgres"]["healthcheck"]["test"])
    assert "ping" in " ".join(SERVICES["redis"]["healthcheck"]["test"])
    assert "ready" in " ".join(SERVICES["minio"]["healthcheck"]["test"])
    assert "inspect ping" in " ".join(SERVICES["worker"]["healthcheck"]["test"])


def test_startup_order_waits_for_healthy_dependencies():
    assert _depends("createbucket") == {"minio": {"condition": "service_healthy"}}
    assert _depends("migrate")["postgres"] == {"condition": "service_healthy"}
    assert _depends("migrate")["createbucket"] == {"condition": "service_completed_successfully"}
    for service in ("web", "worker"):
        deps = _depends(service)
        assert deps["migrate"] == {"condition": "service_completed_successfully"}
        for infra in ("postgres", "redis", "minio"):
            assert deps[infra] == {"condition": "service_healthy"}, (service, infra)
    assert _depends("beat")["redis"] == {"condition": "service_healthy"}


def test_bucket_job_creates_a_private_bucket():
    script = " ".join(SERVICES["createbucket"]["entrypoint"])
    assert "mc mb --ignore-existing" in script
    assert "mc anonymous set none" in script
    assert SERVICES["createbucket"]["restart"] == "no"


def test_migrate_job_migrates_and_registers_the_bundled_model():
    assert "migrate --noinput" in _command("migrate")
    assert "ensure_default_model" in _command("migrate")


def test_web_runs_gunicorn_on_port_8000():
    assert _command("web").startswith("gunicorn eyespy_site.wsgi:application")
    assert "--bind=0.0.0.0:8000" in _command("web")
    # Published on loopback only: a client reaching gunicorn directly could forge the proxy's headers.
    assert SERVICES["web"]["ports"] == ["${WEB_BIND:-127.0.0.1}:8000:8000"]


def test_worker_uses_the_measured_settings():
    command = _command("worker")
    assert "celery -A eyespy_site worker" in command
    for option in ("--pool=prefork", "--max-tasks-per-child=", "--prefetch-multiplier=1", "--queues=zooms,photos,exports,training"):
        assert option in command
    assert SERVICES["worker"]["environment"]["OMP_NUM_THREADS"] == "1"
    assert " -B" not in command and "--beat" not in command  # beat is its own single service


def test_beat_keeps_its_schedule_on_a_volume():
    assert "beat" in _command("beat")
    assert "--schedule=/app/var/beat/" in _command("beat")
    assert any(v.endswith(":/app/var/beat") for v in SERVICES["beat"]["volumes"])


def test_data_lives_on_named_volumes():
    assert {"pgdata", "redisdata", "miniodata", "beatdata"} <= set(COMPOSE["volumes"])
    assert "pgdata:/var/lib/postgresql/data" in SERVICES["postgres"]["volumes"]
    assert "miniodata:/data" in SERVICES["minio"]["volumes"]


def test_web_and_workers_share_no_disk():
    # Only the database, broker and object storage are shared: workers can run on other machines.
    for service in ("web", "worker"):
        assert "volumes" not in SERVICES[service], service


def test_dockerfile_basics():
    assert re.search(r"^FROM python:3\.11-slim\b", DOCKERFILE, re.M)
    assert "pip install -r requirements.txt" in DOCKERFILE
    assert "collectstatic --noinput" in DOCKERFILE
    user = re.findall(r"^USER (\S+)", DOCKERFILE, re.M)
    assert user and user[-1] not in ("root", "0")
    assert DOCKERFILE.index("COPY requirements.txt") < DOCKERFILE.index("COPY . .")  # cached dependency layer
    assert "EXPOSE 8000" in DOCKERFILE
    assert "gunicorn" in DOCKERFILE


def test_dockerignore_keeps_local_state_out_of_the_image():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".git", ".venv", "var", ".env"):
        assert entry in ignored


def test_env_example_names_every_required_variable():
    required = set(re.findall(r"\$\{([A-Z_]+):\?", (ROOT / "docker-compose.yml").read_text()))
    example = (ROOT / ".env.example").read_text()
    for name in required:
        assert re.search(rf"^{name}=", example, re.M), f".env.example lacks {name}"


def test_bin_run_starts_one_worker_like_compose_does(tmp_path):
    """bin/run (README command 1) is the local twin of the worker service: its supervisor starts one worker."""
    from eyespy_site.supervisor import worker_command

    script = (ROOT / "bin" / "run").read_text()
    assert (ROOT / "bin" / "run").stat().st_mode & 0o111, "bin/run must be executable"
    for step in ("bin/install", "manage.py migrate", "manage.py ensure_default_model", "manage.py seed_demo"):
        assert step in script, step
    # exec: the supervisor is bin/run's own pid, so a SIGTERM to it stops web, worker and Redis.
    assert 'exec "$PY" -m eyespy_site.supervisor' in script
    cmd = " ".join(worker_command(concurrency=2, var_dir=tmp_path))
    assert cmd.split()[1:4] == ["-A", "eyespy_site", "worker"]
    for option in ("--pool prefork", "--concurrency 2", "--max-tasks-per-child", "--prefetch-multiplier 1",
                   "-Q zooms,photos,exports,training", "-B --schedule"):
        assert option in cmd, option
