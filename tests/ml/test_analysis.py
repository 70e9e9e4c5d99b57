"""analyse() / analyse_batch() end to end with the real face models and the committed eye CNN."""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ml import datasets
from ml.analysis import CROP_PNG_SIZE, analyse, analyse_batch
from ml.eye_model import load_model
from ml.imaging import ImageError, decode
from ml.types import EyeState, PhotoAnalysis, Thresholds, Verdict
from ml.openness import openness
from ml.verdict import eye_state, judge
from tests.conftest import require

STAGES = {"decode", "detect", "landmarks", "crop", "cnn", "judge", "total"}


@pytest.fixture(scope="module")
def model():
    return load_model()


def _validation_faces(shared_data: Path, per_class: int) -> list[tuple[Path, int]]:
    """A few CEW faces from the group-wise validation split (the CNN never trained on them)."""
    patches = datasets.list_labelled_files(shared_data / "cew" / "eyes")
    val = datasets.validation_groups([datasets.group_of(p.name) for p, _ in patches],
                                     np.array([label for _, label in patches]))
    faces = [(p, label) for p, label in datasets.list_labelled_files(shared_data / "faces")
             if datasets.group_of(p.name) in val]
    picked = []
    for label in (1, 0):
        of_class = [f for f in faces if f[1] == label]
        picked += of_class[:: max(1, len(of_class) // per_class)][:per_class]
    require(len(picked) == 2 * per_class, f"CEW validation faces missing under {shared_data / 'faces'}")
    return picked


def test_closed_eye_photos_are_blinking(shared_data, model):
    folder = shared_data / "photos" / "closed"
    paths = sorted(folder.glob("*.jpg"))
    require(len(paths) >= 3, f"closed-eye photos missing under {folder}")
    for path in paths:
        result = analyse(path, model)
        assert result.verdict is Verdict.BLINKING, (path.name, result.reason)
        assert result.reason.startswith("main face: ") and "closed (" in result.reason
        main = result.faces[0]
        assert main.is_subject and all(e.state is EyeState.CLOSED for e in main.eyes), path.name


def test_cew_faces_are_judged_and_described(shared_data, model):
    picked = _validation_faces(shared_data, per_class=8)
    correct = 0
    for path, label in picked:
        result = analyse(path, model)
        assert result.verdict is not Verdict.NO_FACE, path.name  # tight 100x100 crops are padded and found
        correct += (result.verdict is Verdict.BLINKING) == bool(label)
        assert (result.width, result.height) == (100, 100)
        face = result.faces[0]
        assert 60 <= face.size_px <= 110  # in pixels of the 100 px original, not of the upscaled copy
        assert 0.0 <= face.box.x0 < face.box.x1 <= 1.0 and 0.0 <= face.box.y0 < face.box.y1 <= 1.0
        assert [e.side for e in face.eyes] == ["left", "right"]
        for eye in face.eyes:
            if eye.state is EyeState.NOT_VISIBLE:
                continue
            assert 0.0 <= eye.openness <= 1.0
            assert eye.openness == pytest.approx(openness(eye.p_closed, eye.lid_ratio), abs=1e-3)
            assert eye.state is eye_state(1.0 - eye.openness, Thresholds())
            assert eye.lid_ratio is not None and 0.0 < eye.lid_ratio < 1.0
            assert eye.width_px is not None and 8 <= eye.width_px <= 40  # px of the 100 px original
            assert face.box.x0 - 0.05 <= eye.box.x0 < eye.box.x1 <= face.box.x1 + 0.05
            with Image.open(io.BytesIO(eye.crop)) as crop:
                assert crop.format == "PNG" and crop.mode == "L" and crop.size == (CROP_PNG_SIZE, CROP_PNG_SIZE)
        assert face.presence is not None and 0.0 <= face.presence <= 1.0
        assert STAGES <= set(result.timings_ms)
    # The committed model on faces it never saw (measured 97% on the 388 validation faces).
    assert correct >= 14, f"only {correct}/16 CEW validation faces judged right"


def test_every_input_form_gives_the_same_analysis(shared_data, model):
    path = shared_data / "photos" / "closed" / "yoshidan_closed_man.jpg"
    require(path.is_file(), f"photo missing: {path}")
    data = path.read_bytes()
    with Image.open(path) as im:
        pil = im.convert("RGB")
    results = [analyse(x, model) for x in (path, str(path), data, io.BytesIO(data), decode(data), pil)]
    first = results[0]
    for other in results[1:]:
        assert other.verdict is first.verdict and other.reason == first.reason
        assert (other.width, other.height) == (first.width, first.height) == (300, 168)
        for a, b in zip(first.faces[0].eyes, other.faces[0].eyes):
            assert a.p_closed == pytest.approx(b.p_closed, abs=1e-3)


def test_photo_without_faces_is_no_face(model):
    gradient = np.tile(np.linspace(0, 255, 800, dtype=np.uint8), (600, 1))
    result = analyse(Image.fromarray(gradient).convert("RGB"), model)
    assert (result.verdict, result.reason, result.faces) == (Verdict.NO_FACE, "no face found", ())


def test_bad_input_raises_one_readable_error(model):
    with pytest.raises(ImageError) as err:
        analyse(b"%PDF-1.7 definitely not a photo", model)
    assert err.value.reason


def test_stored_result_rejudges_like_the_analysis(shared_data, model):
    path = shared_data / "photos" / "unlabeled" / "hoanganhpham1006_test1.jpg"
    require(path.is_file(), f"photo missing: {path}")
    result = analyse(path, model)
    stored = json.loads(json.dumps(result.to_dict()))
    assert "crop" not in stored["faces"][0]["eyes"][0]
    assert judge(stored["faces"], Thresholds()) == (result.verdict, result.confidence, result.reason)
    # A group selfie: several subject faces; a strict fraction turns the smaller ones into background.
    assert sum(f.is_subject for f in result.faces) >= 5
    strict = analyse(path, model, Thresholds(min_face_fraction=0.95))
    assert sum(f.is_subject for f in strict.faces) < sum(f.is_subject for f in result.faces)
    assert [f.size_px for f in strict.faces] == [f.size_px for f in result.faces]


def test_batch_matches_single_analyses_and_keeps_bad_files_apart(shared_data, model, tmp_path):
    photos = sorted((shared_data / "photos" / "closed").glob("*.jpg"))[:2]
    require(len(photos) == 2, "closed-eye photos missing")
    missing = tmp_path / "gone.jpg"
    out = analyse_batch([photos[0], b"not an image", missing, photos[1]], model)
    assert [type(r) for r in out] == [PhotoAnalysis, ImageError, ImageError, PhotoAnalysis]
    assert "cannot read" in out[2].reason
    for batch_result, path in zip((out[0], out[3]), photos):
        single = analyse(path, model)
        assert batch_result.verdict is single.verdict and batch_result.reason == single.reason
        assert [e.p_closed for f in batch_result.faces for e in f.eyes] == pytest.approx(
            [e.p_closed for f in single.faces for e in f.eyes], abs=1e-4)
        assert STAGES <= set(batch_result.timings_ms)
    assert analyse_batch([], model) == []
