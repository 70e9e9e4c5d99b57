"""Group split, the evaluation CLI and a tiny real training run."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ml import datasets
from tests.conftest import ROOT

JSON_KEYS = {"n", "accuracy", "precision", "recall", "f1", "tp", "fp", "tn", "fn", "no_face", "images_per_s",
             "partly", "check"}


def _copy_some(src: Path, dst: Path, count: int, *, step: int = 37) -> list[Path]:
    """Copy every `step`-th file of src into dst (a temp folder: data never enters the repo)."""
    dst.mkdir(parents=True, exist_ok=True)
    files = sorted(src.iterdir())[::step][:count]
    for f in files:
        shutil.copy(f, dst / f.name)
    return files


def test_group_of_matches_eye_patches_and_faces():
    assert datasets.group_of("closed_eye_0002.jpg_face_2_L.jpg") == "closed_eye_0002"
    assert datasets.group_of("cew_closed_eye_0002.jpg_face_2.jpg") == "closed_eye_0002"
    assert datasets.group_of("closed_eye_1702.BMP_face_2_R.jpg") == "closed_eye_1702"
    assert datasets.group_of("Aaron_Guiel_0001_L.jpg") == "Aaron_Guiel"
    assert datasets.group_of("cew_Aaron_Guiel_0001.jpg") == "Aaron_Guiel"
    assert datasets.group_of("Chung_Mong-hun_0001_R.jpg") == "Chung_Mong-hun"


def test_group_split_is_deterministic_disjoint_and_sized(shared_data):
    patches = datasets.load_eye_patches(shared_data)
    val = datasets.validation_groups(patches.groups, patches.labels, seed=7)
    assert val == datasets.validation_groups(patches.groups, patches.labels, seed=7)
    assert val != datasets.validation_groups(patches.groups, patches.labels, seed=8)
    mask = datasets.split_mask(patches, val)
    train_groups = {g for g, m in zip(patches.groups, mask) if not m}
    assert not train_groups & val  # nobody's eyes on both sides
    for label in (0, 1):
        share = mask[patches.labels == label].mean()
        assert 0.2 <= share < 0.25


def test_evaluate_eyes_cli_writes_the_documented_json(shared_data, tmp_path):
    root = tmp_path / "eyes"
    _copy_some(shared_data / "cew" / "eyes" / "closed", root / "closed" / "nested", 10)
    _copy_some(shared_data / "cew" / "eyes" / "open", root / "open", 10)
    out = tmp_path / "metrics.json"
    run = subprocess.run(
        [sys.executable, "-m", "ml.evaluate", str(root), "--eyes", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert "accuracy=" in run.stdout and "images/s" in run.stdout
    data = json.loads(out.read_text())
    assert set(data) == JSON_KEYS
    assert data["n"] == 20 and data["tp"] + data["fn"] == 10 and data["no_face"] == 0
    assert data["accuracy"] >= 0.8


def test_evaluate_faces_counts_every_image_and_no_face(shared_data, tmp_path):
    pytest.importorskip("ml.analysis", reason="ml.analysis (faces helper) not present yet")
    root = tmp_path / "faces"
    _copy_some(shared_data / "faces" / "closed", root / "closed", 3, step=101)
    _copy_some(shared_data / "faces" / "open", root / "open", 3, step=101)
    # A faceless image: it must count as a NOT_BLINKING prediction and as no_face.
    Image.fromarray(np.full((120, 120, 3), 128, np.uint8)).save(root / "closed" / "blank.png")
    out = tmp_path / "faces.json"
    run = subprocess.run(
        [sys.executable, "-m", "ml.evaluate", str(root), "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=90,
    )
    assert run.returncode == 0, run.stderr
    data = json.loads(out.read_text())
    assert set(data) == JSON_KEYS
    assert data["n"] == 7
    assert data["no_face"] >= 1
    assert data["fn"] >= 1  # the blank "closed" image


def test_evaluate_cli_rejects_an_empty_folder(tmp_path):
    run = subprocess.run([sys.executable, "-m", "ml.evaluate", str(tmp_path), "--eyes"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert "no images" in run.stderr


def test_train_smoke_one_epoch_writes_a_servable_model(shared_data, tmp_path):
    from ml.eye_model import EyeModel
    from ml.train import train

    data = tmp_path / "data"
    for cls in ("closed", "open"):
        _copy_some(shared_data / "cew" / "eyes" / cls, data / "cew" / "eyes" / cls, 24, step=41)
    # Extra crops of another size, as the retraining flow will feed them.
    extra = tmp_path / "extra"
    for cls, value in (("closed", 90), ("open", 160)):
        (extra / cls).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((40, 40), value + i, np.uint8)).save(extra / cls / f"crop_{i}.png")
    report = train(data, tmp_path / "out", epochs=1, extra_examples=extra, use_faces=False, seed=3)
    assert report.keras_path.is_file() and report.tflite_path.is_file()
    assert len(report.version) == 12
    assert report.counts["extra"] == {"train_closed": 3, "train_open": 3}
    saved = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert {"accuracy", "precision", "recall", "f1", "tp", "fp", "tn", "fn"} <= set(saved["metrics"])
    assert saved["metrics"]["n"] == sum(v for k, v in report.counts["cew_eyes"].items() if k.startswith("val"))
    served = EyeModel(report.tflite_path)
    assert served.version == report.version == saved["version"]
    p = served.predict(np.zeros((2, 32, 32), np.uint8))
    assert p.shape == (2,)


def test_training_modules_import_tensorflow_only_when_training():
    code = ("import sys, ml.train, ml.evaluate, ml.datasets, ml.cnn, ml.face_crops; "
            "print('tensorflow' in sys.modules, 'django' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]
