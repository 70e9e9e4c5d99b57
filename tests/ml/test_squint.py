"""A squint reads partly closed, a shut eye closed: the committed model + openness on real CEW faces."""
from __future__ import annotations

import pytest

from ml.analysis import analyse
from ml.eye_model import load_model
from ml.types import EyeState, Thresholds, Verdict
from tests.conftest import require

# From faces/cew_open_suspects.csv: labelled open in CEW, re-annotated "blink" elsewhere; a squint by eye.
SQUINT = "open/cew_Ahmed_Ghazi_0001.jpg"
SHUT = "closed/cew_closed_eye_0003.jpg_face_2.jpg"


@pytest.fixture(scope="module")
def model():
    return load_model()


def test_a_squinting_eye_reads_partly_closed(shared_data, model):
    path = shared_data / "faces" / SQUINT
    require(path.is_file(), f"face missing: {path}")
    result = analyse(path, model)
    eyes = result.faces[0].eyes
    assert EyeState.PARTLY_CLOSED in {e.state for e in eyes}, [(e.state, e.openness) for e in eyes]
    assert EyeState.CLOSED not in {e.state for e in eyes}
    assert all(0.5 <= e.openness < 0.7 for e in eyes if e.state is EyeState.PARTLY_CLOSED)
    assert result.verdict is Verdict.NOT_BLINKING and "partly closed (" in result.reason
    assert result.needs_check  # uncertain by construction: between the cut-offs
    # A photographer who rejects partly closed eyes gets a blink.
    assert analyse(path, model, Thresholds(partly_counts=True)).verdict is Verdict.BLINKING


def test_a_shut_eye_reads_closed_with_a_confident_verdict(shared_data, model):
    path = shared_data / "faces" / SHUT
    require(path.is_file(), f"face missing: {path}")
    result = analyse(path, model)
    assert [e.state for e in result.faces[0].eyes] == [EyeState.CLOSED, EyeState.CLOSED]
    assert all(e.openness < 0.2 for e in result.faces[0].eyes)
    assert result.verdict is Verdict.BLINKING and result.confidence >= 0.95 and not result.needs_check


def test_dark_glasses_are_not_a_blink_but_a_check(shared_data, model):
    import numpy as np
    from PIL import Image

    from ml.failure_classes import transform

    path = shared_data / "faces" / SQUINT.replace("cew_Ahmed_Ghazi_0001", "cew_Aaron_Guiel_0001")
    require(path.is_file(), f"face missing: {path}")
    with Image.open(path) as im:
        masked = transform(im, "sunglasses", np.random.default_rng(0))
    result = analyse(masked, model)
    assert result.verdict is Verdict.NOT_BLINKING
    assert all(e.state is EyeState.NOT_VISIBLE for e in result.faces[0].eyes)
    assert result.needs_check and any(r.startswith("eyes not visible") for r in result.check_reasons)
