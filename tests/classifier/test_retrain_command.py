"""`manage.py retrain_model` as a real process on its own database: killed mid-training, everything stays as it was.

Marker slow: the process imports TensorFlow and loads the base data (~20-60 s on a shared machine).
"""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.classifier.learning_builders import small_base_data
from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def _env(tmp_path: Path, data: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "EYESPY_", "CELERY_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="eyespy_site.settings", EYESPY_VAR_DIR=str(tmp_path / "var"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", EYESPY_TRAINING_DATA_DIR=str(data),
        EYESPY_TRAINING_USE_FACES="false", EYESPY_TRAINING_THREADS="1", TF_CPP_MIN_LOG_LEVEL="3", **extra,
    )
    return env


def _manage(env, *args, timeout=120):
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def _query(db: Path, sql: str):
    with sqlite3.connect(db, timeout=20) as conn:
        return conn.execute(sql).fetchall()


def test_a_killed_run_leaves_the_live_model_and_storage_as_they_were(shared_data, tmp_path):
    data = small_base_data(shared_data, tmp_path / "data")
    env = _env(tmp_path, data)
    db = tmp_path / "db.sqlite3"
    assert _manage(env, "migrate", "-v", "0").returncode == 0
    assert _manage(env, "ensure_default_model").returncode == 0
    live_before = _query(db, "select id, name from classifier_modelversion where is_live")
    media_before = sorted(p.relative_to(tmp_path) for p in (tmp_path / "var").rglob("*") if p.is_file())

    proc = subprocess.Popen([sys.executable, "manage.py", "retrain_model", "--inline", "--epochs", "200"], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            rows = _query(db, "select phase, epoch from classifier_trainingrun")
            if rows and rows[0][0] == "training" and rows[0][1] >= 1:
                break
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.5)
        else:
            pytest.fail("the run never reached its first epoch")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()

    status, error = _query(db, "select status, error from classifier_trainingrun")[0]
    assert status == "running"  # a SIGKILL can't write anything: the heartbeat just stops ...
    sweep = _manage(_env(tmp_path, data, EYESPY_TRAINING_STALE_SECONDS="0"), "shell", "-c",
                    "from learning import services; print(services.training_runs_fail_stale())")
    assert sweep.returncode == 0, sweep.stderr
    status, error = _query(db, "select status, error from classifier_trainingrun")[0]
    assert status == "failed" and "the live model was not changed" in error  # ... and the sweep says what happened
    assert _query(db, "select id, name from classifier_modelversion where is_live") == live_before
    assert _query(db, "select count(*) from classifier_modelversion") == [(1,)]
    media_after = sorted(p.relative_to(tmp_path) for p in (tmp_path / "var").rglob("*") if p.is_file()
                         and "training" not in p.parts and "broker" not in p.parts)
    assert [p for p in media_after if "models" in p.parts] == [p for p in media_before if "models" in p.parts]
    assert not list((tmp_path / "var" / "training").glob("run*"))  # its scratch folder is gone too


def test_without_research_data_and_too_few_decisions_the_last_line_says_so(tmp_path):
    """The contract other tools read: an empty data folder never gives a dataset error, only a JSON line."""
    empty = tmp_path / "empty"
    empty.mkdir()
    env = _env(tmp_path, empty)
    assert _manage(env, "migrate", "-v", "0").returncode == 0

    done = _manage(env, "retrain_model", "--inline")

    last = json.loads(done.stdout.strip().splitlines()[-1])
    assert last["version_id"] is None and last["live"] is False and last["mode"] == "fine-tune"
    assert "not enough decisions to learn from yet: 0 eye crops" in last["gate"]["reason"]
    assert "DatasetError" not in done.stdout + done.stderr and "Traceback" not in done.stderr
