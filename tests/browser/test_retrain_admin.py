"""Staff start a retrain from the Django admin, watch its progress live, see the new version and roll back.

The test thread plays the training worker (`training_run_execute`, the task's body) while the browser polls
the run page; the bundled model's Keras weights are fine-tuned on a fifth of the CEW eye patches (2 epochs).
"""
from __future__ import annotations

import pytest

from classifier import services as classifier_services
from classifier.models import ModelVersion, TrainingRun
from learning import services as learning_services
from tests.classifier.learning_builders import learning_settings, small_base_data
from tests.factories import PASSWORD, make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_staff_retrain_from_the_admin_watch_progress_and_roll_back(page, server_url, settings, shared_data, tmp_path,
                                                                   monkeypatch):
    learning_settings(settings, small_base_data(shared_data, tmp_path / "data"), tmp_path / "var")
    settings.EYESPY_TRAINING_EPOCHS_FINETUNE = 2  # the bundled model's Keras weights are fine-tuned for 2 epochs
    settings.EYESPY_TRAINING_MIN_STEPS = 1
    settings.EYESPY_GATE_BASE_TOLERANCE = 1.0  # a 2-epoch model may go live: this test is about the screens
    settings.EYESPY_GATE_MIN_FROZEN = 0  # no corrections here: nothing frozen to wait for
    monkeypatch.setattr("learning.services.training_runs._send", lambda run_id: None)  # no broker: we are the worker
    bundled = classifier_services.live_model_version()
    make_user("staff@example.com", is_staff=True, is_superuser=True)

    page.goto(f"{server_url}/admin/login/")
    page.fill('input[name="username"]', "staff@example.com")
    page.fill('input[name="password"]', PASSWORD)
    page.press('input[name="password"]', "Enter")
    page.wait_for_url(lambda url: "/login/" not in url)
    page.goto(f"{server_url}/admin/classifier/trainingrun/")
    page.click("#start-retrain")
    page.wait_for_url("**/learning/runs/*/")
    run = TrainingRun.objects.get()
    assert page.text_content("#run-progress .run-status") == "Queued"

    seen = []

    def watch(line: str) -> None:
        # Called from inside the run after each log line: the page must show the epoch without a reload.
        if line.startswith("epoch 1/2"):
            page.wait_for_selector("#run-progress .run-epoch:has-text('epoch 1 of 2')", timeout=20_000)
            seen.append(page.text_content("#run-progress .run-status"))

    learning_services.training_run_execute(run_id=run.pk, echo=watch)

    assert seen == ["Running"]
    page.wait_for_selector("#run-progress[data-status='done']", timeout=20_000)
    run.refresh_from_db()
    new = run.result
    assert new.is_live and page.is_visible("#run-progress .run-result")
    page.click("#run-progress .run-result a")
    page.wait_for_url("**/learning/models/")
    assert "live" in page.text_content(f"#version-{new.pk}")
    assert page.is_visible("svg.chart")
    page.click(f"button[data-promote='{bundled.name}']")  # roll back in one click
    page.wait_for_url("**/learning/models/")
    assert list(ModelVersion.objects.filter(is_live=True)) == [bundled]
    assert "live" in page.text_content(f"#version-{bundled.pk}")
