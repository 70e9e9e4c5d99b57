"""The checks' registry (ml/detectors): the eye check gives exactly ml.verdict's judgement, registration
rules, the session step's place, and `python -m ml.detectors --json`."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ml import detectors
from ml.detectors import Subject
from ml.types import Box, EyeResult, EyeState, FaceResult, PhotoAnalysis, Thresholds, Verdict
from ml.verdict import judgement
from tests.checks import WideFrameCheck, registered

ROOT = Path(__file__).resolve().parents[2]
BOX = Box(0.1, 0.1, 0.3, 0.3)


def _face(left: float, right: float, *, size: int = 400, hidden: bool = False) -> FaceResult:
    eyes = tuple(EyeResult(side=side, state=EyeState.NOT_VISIBLE if hidden else EyeState.OPEN, p_closed=p,
                           openness=1 - p, box=BOX) for side, p in (("left", left), ("right", right)))
    return FaceResult(box=BOX, score=0.9, size_px=size, is_subject=True, eyes=eyes)


def _details(*faces: FaceResult) -> dict:
    analysis = PhotoAnalysis(verdict=Verdict.NOT_BLINKING, confidence=0.5, reason="", faces=faces, width=800,
                             height=600)
    return detectors.get("blink").analyse(Subject(analysis=analysis))


CASES = [
    (_face(0.94, 0.61),),
    (_face(0.02, 0.05), _face(0.01, 0.1, size=350)),
    (_face(0.45, 0.05),),
    (_face(0.52, 0.05),),  # near the cut-off: check
    (_face(0.02, 0.9, size=100), _face(0.05, 0.02)),  # a blinking background face
    (_face(0.0, 0.0, hidden=True),),
    (_face(0.02, 0.03), _face(0.9, 0.8, size=380)),  # the second subject blinks
]


@pytest.mark.parametrize("strictness", [0.0, 0.3, 0.5, 0.75, 1.0])
@pytest.mark.parametrize("faces", CASES)
def test_the_eye_check_judges_exactly_as_the_verdict_rules(faces, strictness):
    details = _details(*faces)
    finding = detectors.get("blink").judge(details, strictness)
    expected = judgement(details["faces"], Thresholds.from_strictness(strictness))
    assert finding.applies and finding.flagged == (expected.verdict is Verdict.BLINKING)
    assert (finding.sentence, finding.confidence, finding.check_reasons) == (
        expected.reason, expected.confidence, expected.check_reasons)
    assert [f.flagged for f in finding.faces] == [f.verdict is Verdict.BLINKING for f in expected.faces]


def test_the_face_that_decided_is_the_blinking_subject():
    finding = detectors.get("blink").judge(_details(*CASES[-1]))
    assert finding.flagged and finding.face_index == 1
    assert finding.score == pytest.approx(0.9)
    open_photo = detectors.get("blink").judge(_details(_face(0.02, 0.03), _face(0.2, 0.1, size=380)))
    assert not open_photo.flagged and open_photo.face_index == 1  # the eye nearest to closing


def test_no_face_is_not_judged_by_the_eye_check():
    finding = detectors.get("blink").judge({"schema": 3, "faces": []})
    assert not finding.applies and not finding.flagged and not finding.needs_check
    assert finding.sentence == "no face found"


def test_details_are_json_with_a_schema():
    details = _details(*CASES[0])
    assert details["schema"] == detectors.get("blink").schema
    assert json.loads(json.dumps(details)) == details


@pytest.fixture
def wide_check():
    with registered(WideFrameCheck(rejects=False)) as check:  # a note: it never moves a photo
        yield check


def test_a_registered_check_is_analysed_and_judged_with_the_others(wide_check):
    analysis = PhotoAnalysis(verdict=Verdict.NOT_BLINKING, confidence=0.5, reason="", faces=(_face(0.9, 0.9),),
                             width=1600, height=900)
    stored = detectors.analyse_all(Subject(analysis=analysis))
    assert list(stored) == ["blink", "focus", "motion", "framing", "burst", "wide"]
    findings = detectors.judge_all(stored, {"wide": 1.0})
    assert findings["blink"].flagged and findings["wide"].flagged
    assert [c["key"] for c in detectors.describe()] == ["blink", "focus", "motion", "framing", "burst", "wide"]


def test_registration_refuses_a_second_key_and_a_taken_keyboard_key(wide_check):
    with pytest.raises(detectors.RegistryError, match="registered already"):
        detectors.register(WideFrameCheck())
    with pytest.raises(detectors.RegistryError, match="keyboard key"):
        detectors.register(WideFrameCheck(key="other", words=detectors.get("blink").words))
    with pytest.raises(detectors.RegistryError, match="not a Detector"):
        detectors.register(object())


def test_session_steps_give_contexts_without_re_analysis():
    class UsualAspect:
        key = "usual-aspect"

        def run(self, photos, contexts):
            usual = sorted(d["wide"]["aspect"] for d in photos.values())[len(photos) // 2]
            return {pid: {"wide": {"usual": usual}} for pid in photos}

    step = detectors.register_step(UsualAspect())
    try:
        stored = {1: {"wide": {"aspect": 1.5}}, 2: {"wide": {"aspect": 1.0}}, 3: {"wide": {"aspect": 1.4}}}
        assert detectors.run_session_steps(stored) == {pid: {"wide": {"usual": 1.4}} for pid in stored}
    finally:
        detectors.unregister_step(step.key)
    assert detectors.run_session_steps({1: {}}) == {}


def test_cli_prints_the_registry_as_json():
    run = subprocess.run([sys.executable, "-m", "ml.detectors", "--json"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    checks = json.loads(run.stdout)
    assert checks[0] | {"words": None} == {"key": "blink", "title": "Closed eyes", "level": "eye", "rejects": True,
                                            "schema": 3, "words": None}
    assert all({"key", "title", "level", "rejects"} <= set(c) for c in checks)


def test_importing_the_registry_stays_light():
    code = "import sys, ml.detectors; bad = [m for m in ('django', 'tensorflow', 'ml.analysis') if m in sys.modules]; print(bad)"
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.stdout.strip() == "[]", run.stderr
