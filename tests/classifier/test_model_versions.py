"""Live model version, the bundled default, and the per-process model cache of the worker."""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command

from classifier import services, worker_model
from classifier.models import ModelVersion
from classifier.services import model_versions
from tests.conftest import ROOT

pytestmark = pytest.mark.django_db

BUNDLED = model_versions.bundled_model_path()


@pytest.fixture(autouse=True)
def _fresh_cache(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    worker_model.reset()
    yield
    worker_model.reset()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_bundled_model_becomes_live_when_none_is():
    assert not ModelVersion.objects.exists()
    live = services.live_model_version()

    checksum = _sha(BUNDLED.read_bytes())
    assert live.is_live
    assert live.name == f"bundled-{checksum[:12]}"
    assert live.checksum == checksum
    with live.weights.open("rb") as fh:  # copied to storage: workers elsewhere can fetch it
        assert _sha(fh.read()) == checksum


def test_live_model_version_is_stable():
    first = services.live_model_version()
    assert services.live_model_version() == first
    assert ModelVersion.objects.count() == 1


def test_an_existing_live_version_is_returned_untouched():
    trained = ModelVersion.objects.create(name="retrained-2024-06", is_live=True)
    assert services.live_model_version() == trained
    assert ModelVersion.objects.count() == 1


def test_promote_keeps_exactly_one_live():
    old = services.live_model_version()
    new = ModelVersion.objects.create(name="candidate")
    services.model_version_promote(version=new)
    assert list(ModelVersion.objects.filter(is_live=True)) == [new]
    old.refresh_from_db()
    assert not old.is_live


def test_metrics_come_from_a_json_next_to_the_bundled_file(tmp_path):
    model = tmp_path / "eye_cnn.tflite"
    shutil.copy(BUNDLED, model)
    (tmp_path / "eye_cnn.metrics.json").write_text(json.dumps({"metrics": {"accuracy": 0.93, "f1": 0.91}}))
    version = services.model_version_ensure_bundled(model_path=model)
    assert version.metrics == {"accuracy": 0.93, "f1": 0.91}


def test_no_metrics_file_means_empty_metrics(tmp_path):
    model = tmp_path / "eye_cnn.tflite"
    shutil.copy(BUNDLED, model)
    assert services.model_version_ensure_bundled(model_path=model).metrics == {}


def test_ensure_default_promotes_the_bundled_model_when_nothing_is_live():
    live, changed = services.model_version_ensure_default()
    assert changed and live.is_live and live.name.startswith("bundled-")
    assert services.model_version_ensure_default() == (live, False)


def test_ensure_default_keeps_a_trained_live_model():
    trained = ModelVersion.objects.create(name="retrained-2024-06", is_live=True)
    live, changed = services.model_version_ensure_default()
    assert (live, changed) == (trained, False)


def test_ensure_default_replaces_an_outdated_bundled_model():
    outdated = ModelVersion.objects.create(name="bundled-000000000000", checksum="0" * 64, is_live=True)
    live, changed = services.model_version_ensure_default()
    assert changed
    assert live.name == f"bundled-{_sha(BUNDLED.read_bytes())[:12]}"
    assert live.parent == outdated
    outdated.refresh_from_db()
    assert not outdated.is_live


def test_ensure_default_model_command_says_what_is_live():
    out = StringIO()
    call_command("ensure_default_model", stdout=out)
    assert out.getvalue().strip() == f"Eye model {services.live_model_version().name} is now live."


# --- worker_model ------------------------------------------------------------------------------------


def test_the_model_is_loaded_once_per_process_and_version():
    version = services.live_model_version()
    first = worker_model.eye_model_for(version)
    assert worker_model.eye_model_for(version) is first
    assert worker_model.loaded_version_ids() == [version.pk]
    assert first.path == BUNDLED  # matching checksum: no copy from storage needed


def test_a_new_live_version_is_loaded_and_the_old_one_dropped(monkeypatch, tmp_path):
    old = services.live_model_version()
    old_model = worker_model.eye_model_for(old)
    # A "trained" version: weights only in storage (the bundled file is not on this worker).
    data = BUNDLED.read_bytes()
    new = ModelVersion(name="retrained", checksum=_sha(data))
    new.weights.save("eye_cnn.tflite", ContentFile(data), save=False)
    new.save()
    services.model_version_promote(version=new)
    monkeypatch.setattr(model_versions, "bundled_model_path", lambda: tmp_path / "not-here.tflite")

    new_model = worker_model.eye_model_for(services.live_model_version())

    assert new_model is not old_model
    assert worker_model.loaded_version_ids() == [new.pk]
    assert new_model.path.parent.name == "model-cache"
    assert new_model.version == old_model.version  # same bytes, same weights fingerprint


def test_weights_that_do_not_match_their_checksum_are_refused(monkeypatch, tmp_path):
    bad = ModelVersion(name="tampered", checksum="f" * 64)
    bad.weights.save("eye_cnn.tflite", ContentFile(BUNDLED.read_bytes()), save=False)
    bad.save()
    monkeypatch.setattr(model_versions, "bundled_model_path", lambda: tmp_path / "not-here.tflite")
    with pytest.raises(ValueError, match="checksum"):
        worker_model.eye_model_for(bad)
    assert worker_model.loaded_version_ids() == []


def test_the_web_side_never_loads_a_model_or_tensorflow(tmp_path):
    """Upload handling needs header inspection only; the interpreter must stay out of web and worker parent."""
    code = """
import io, sys, django
django.setup()
import eyespy_site.urls, classifier.tasks, classifier.admin, learning.tasks, learning.admin, review.tasks, galleries.tasks
from sessions_app import services
from PIL import Image
buf = io.BytesIO(); Image.new("RGB", (8, 8)).save(buf, "JPEG")
assert services.inspect_upload(buf).format == "JPEG"
loaded = [m for m in ("ai_edge_litert", "tensorflow", "ml.analysis", "ml.faces") if m in sys.modules]
print("LOADED", loaded)
"""
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "eyespy_site.settings", "PYTHONPATH": str(ROOT),
             "EYESPY_VAR_DIR": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr
    assert "LOADED []" in proc.stdout


# --- admin -------------------------------------------------------------------------------------------


@pytest.fixture
def staff_client(client):
    from tests.factories import make_user

    client.force_login(make_user(is_staff=True, is_superuser=True))
    return client


def test_admin_lists_model_versions_with_their_prediction_counts(staff_client):
    live = services.live_model_version()
    response = staff_client.get("/admin/classifier/modelversion/")
    assert response.status_code == 200
    assert live.name in response.content.decode()


def test_admin_make_live_action_promotes_through_the_service(staff_client):
    services.live_model_version()
    candidate = ModelVersion.objects.create(name="candidate-7")
    response = staff_client.post(
        "/admin/classifier/modelversion/",
        {"action": "make_live", "_selected_action": [candidate.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert list(ModelVersion.objects.filter(is_live=True)) == [candidate]


def test_admin_corrections_are_read_only(staff_client):
    response = staff_client.get("/admin/classifier/correction/add/")
    assert response.status_code == 403
