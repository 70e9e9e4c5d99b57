"""docker-compose.yml and the Dockerfile, checked statically (no Docker engine runs here): rules that hold
across the files, not their values read back (those are the files' business; bench/stack_smoke.py runs
the stack's commands for real).

What a broken rule would mean in production: a secret with a default, a service that starts before its
database is ready, an unhealthy container nobody notices, workers tied to the web server's disk, a worker
setting that the command line silently overrides.
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


def test_third_party_images_are_pinned():
    for service in ("postgres", "redis", "minio", "createbucket"):
        image = SERVICES[service]["image"]
        name, _, tag = image.partition(":")
        assert tag and tag != "latest", f"{service} image {image!r} must pin a version"


def test_app_services_build_this_repository():
    for service in APP_SERVICES:
        assert SERVICES[service]["build"] == ".", service
        assert SERVICES[service]["image"] == SERVICES["web"]["image"]  # one image for all


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


def test_web_and_workers_share_no_disk():
    # Only the database, broker and object storage are shared: workers can run on other machines.
    for service in ("web", "worker"):
        assert "volumes" not in SERVICES[service], service


def test_dockerignore_keeps_local_state_out_of_the_image():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".git", ".venv", "var", ".env"):
        assert entry in ignored


def test_env_example_names_every_required_variable():
    required = set(re.findall(r"\$\{([A-Z_]+):\?", (ROOT / "docker-compose.yml").read_text()))
    example = (ROOT / ".env.example").read_text()
    for name in required:
        assert re.search(rf"^{name}=", example, re.M), f".env.example lacks {name}"


def test_the_image_runs_as_a_user_and_caches_its_dependencies():
    user = re.findall(r"^USER (\S+)", DOCKERFILE, re.M)
    assert user and user[-1] not in ("root", "0")
    assert DOCKERFILE.index("COPY requirements.txt") < DOCKERFILE.index("COPY . .")  # cached dependency layer


def test_worker_recycling_has_one_owner_the_settings(tmp_path):
    """CELERY_WORKER_MAX_TASKS_PER_CHILD (settings, README) decides; no worker command line overrides it."""
    from eyespy_site.supervisor import worker_command

    commands = [_command("worker"), " ".join(worker_command(concurrency=2, var_dir=tmp_path)),
                (ROOT / "bench" / "stack_smoke.py").read_text()]
    assert not [c for c in commands if "max-tasks-per-child" in c]
