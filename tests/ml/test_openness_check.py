"""Openness, the check group and the session baseline: pure functions, no model."""
from __future__ import annotations

import json

import pytest

from ml import calibration, openness
from ml.types import SCHEMA_VERSION, Box, EyeResult, EyeState, FaceResult, PhotoAnalysis, Thresholds, Verdict
from ml.verdict import CHECK_BAND, check_reasons, eye_state, judgement, near_cut

BOX = Box(0.1, 0.1, 0.3, 0.3)


def _eye(side: str, p: float, lid: float | None = 0.33, *, width: float = 40.0, visible: bool = True) -> EyeResult:
    o = openness.openness(p, lid) if visible else 0.0
    state = eye_state(1 - o, Thresholds()) if visible else EyeState.NOT_VISIBLE
    return EyeResult(side=side, state=state, p_closed=p if visible else 0.0, openness=o, box=BOX, lid_ratio=lid,
                     width_px=width)


def _face(*eyes: EyeResult, size: int = 400, score: float = 0.95, presence: float = 1.0) -> FaceResult:
    return FaceResult(box=BOX, score=score, size_px=size, is_subject=True, eyes=eyes, presence=presence)


def test_openness_moves_smoothly_from_wide_open_through_squint_to_shut():
    # The same confident CNN call, the lid closing step by step: openness falls monotonically.
    values = [openness.openness(0.1, lid) for lid in (0.40, 0.33, 0.26, 0.20, 0.15, 0.10)]
    assert values == sorted(values, reverse=True) and len(set(values)) == len(values)
    assert all(0.0 <= v <= 1.0 for v in values)
    wide, shut = openness.openness(0.01, 0.40), openness.openness(0.99, 0.08)
    assert wide > 0.7 and shut < 0.5
    # A bare crop (no lid outline): P(closed) = 0.5 sits exactly on the closed cut-off.
    assert openness.openness(0.5) == pytest.approx(0.5)
    assert openness.openness(0.2) > openness.openness(0.4) > 0.5


def test_a_squint_reads_partly_closed_not_closed():
    # A narrow lid with the CNN unsure either way: between the cut-offs.
    squint = _eye("left", 0.35, lid=0.19)
    assert squint.state is EyeState.PARTLY_CLOSED, squint.openness
    j = judgement([_face(squint, _eye("right", 0.05))], Thresholds())
    assert j.verdict is Verdict.NOT_BLINKING and "partly closed (" in j.reason and "% open)" in j.reason
    # Counted as a reject when the photographer says partly closed counts.
    assert judgement([_face(squint, _eye("right", 0.05))], Thresholds(partly_counts=True)).verdict is Verdict.BLINKING


def test_one_eye_shut_is_always_a_blink():
    j = judgement([_face(_eye("left", 0.99, lid=0.08), _eye("right", 0.01, lid=0.38))], Thresholds())
    assert j.verdict is Verdict.BLINKING and j.reason.startswith("main face: left eye closed")
    assert j.confidence >= 0.95  # calibrated P(closed) of the shut eye


def test_strictness_moves_a_middling_eye_across_the_whole_range():
    eye = _eye("left", 0.3, lid=0.22)
    verdicts = [judgement([_face(eye, _eye("right", 0.02))], Thresholds.from_strictness(s)).verdict
                for s in (0.0, 0.25, 0.5, 0.75, 1.0)]
    assert verdicts[0] is Verdict.NOT_BLINKING and verdicts[-1] is Verdict.BLINKING


def test_clear_photos_need_no_check_and_uncertain_ones_say_why():
    clear_open = [_face(_eye("left", 0.01, 0.38), _eye("right", 0.02, 0.36))]
    clear_shut = [_face(_eye("left", 0.99, 0.07), _eye("right", 0.98, 0.08))]
    assert check_reasons(clear_open) == [] and check_reasons(clear_shut) == []
    assert check_reasons([]) == []
    # Near the cut-off: an eye whose closedness sits within the band of 0.5.
    near = [_face(_eye("left", 0.5, None), _eye("right", 0.01, 0.38))]
    assert abs((1 - near[0].eyes[0].openness) - 0.5) < CHECK_BAND
    assert [r.split(" (")[0] for r in check_reasons(near)] == ["near the cut-off"]
    hidden = [_face(_eye("left", 0.0, visible=False), _eye("right", 0.0, visible=False))]
    assert check_reasons(hidden) == ["eyes not visible (main face)"]
    doubtful = [_face(_eye("left", 0.01, 0.38), _eye("right", 0.02, 0.36), score=0.52)]
    assert check_reasons(doubtful) == ["face box doubtful (main face)"]
    tiny = [_face(_eye("left", 0.01, 0.38, width=5.0), _eye("right", 0.02, 0.36, width=5.5))]
    assert check_reasons(tiny) == ["eyes too small (main face, 5 px)"]
    # Background faces never send a photo to check.
    background = _face(_eye("left", 0.0, visible=False), _eye("right", 0.0, visible=False), size=60)
    assert check_reasons(clear_open + [background]) == []


def test_the_check_follows_the_cut_off_that_decides():
    eye = _eye("left", 0.2, lid=0.24)
    faces = [_face(eye, _eye("right", 0.02, 0.37))]
    c = 1 - eye.openness

    def near(t: Thresholds) -> bool:
        return any(r.startswith("near the cut-off") for r in check_reasons(faces, t))

    assert abs(c - Thresholds().closed) < CHECK_BAND and near(Thresholds())
    assert not near(Thresholds(closed=0.9, partly=0.6))  # far from a lenient closed cut-off
    assert near(Thresholds(closed=0.9, partly=round(c + 0.05, 3), partly_counts=True))  # partly closed decides


def test_schema_3_round_trip_and_older_dicts_still_load():
    faces = (_face(_eye("left", 0.97, 0.09), _eye("right", 0.1, 0.3)),)
    j = judgement(faces, Thresholds())
    analysis = PhotoAnalysis(verdict=j.verdict, confidence=j.confidence, reason=j.reason, faces=faces, width=10,
                             height=10, needs_check=j.needs_check, check_reasons=j.check_reasons)
    stored = json.loads(json.dumps(analysis.to_dict()))
    assert stored["schema"] == SCHEMA_VERSION == 3
    assert PhotoAnalysis.from_dict(stored) == analysis
    # A schema-2 dict (openness = 1 - p, no width/presence/check fields) judges exactly as before.
    old = {"schema": 2, "verdict": "NOT_BLINKING", "confidence": 0.9, "reason": "1 face, all eyes open",
           "faces": [{"box": {}, "score": 0.9, "size_px": 300, "is_subject": True,
                      "eyes": [{"side": "left", "state": "open", "p_closed": 0.45, "openness": 0.55, "box": {}}]}]}
    back = PhotoAnalysis.from_dict(old)
    assert back.needs_check is False and back.check_reasons == () and back.faces[0].presence is None
    assert back.faces[0].eyes[0].width_px is None
    assert judgement(old["faces"], Thresholds()).faces[0].eye_states == (EyeState.PARTLY_CLOSED,)
    assert judgement(old["faces"], Thresholds(closed=0.4)).verdict is Verdict.BLINKING


def _session(openness_values: list[float]) -> list[dict]:
    return [{"faces": [{"eyes": [{"side": "left", "state": "open", "openness": o},
                                 {"side": "right", "state": "open", "openness": o}]}]} for o in openness_values]


def test_session_baseline_is_the_subjects_usual_openness():
    session = _session([0.9, 0.92, 0.88, 0.91, 0.1, 0.9, 0.89])  # one blink among usual frames
    base = openness.session_baseline(session)
    assert base == {"left": pytest.approx(0.9), "right": pytest.approx(0.9)}
    squint = _session([0.6])[0]
    assert openness.relative_openness(squint, base) == {"left": pytest.approx(0.6667, abs=1e-3),
                                                       "right": pytest.approx(0.6667, abs=1e-3)}
    assert [s for s, _ in openness.narrower_than_usual(squint, base)] == ["left", "right"]
    assert openness.narrower_than_usual(_session([0.8])[0], base) == []
    assert openness.session_baseline(session[:3]) == {}  # too few photos for a baseline
    hidden = [{"faces": [{"eyes": [{"side": "left", "state": "not_visible", "openness": 0.0}]}]}] * 9
    assert openness.session_baseline(hidden) == {}


def test_temperature_and_ece():
    import numpy as np

    rng = np.random.default_rng(0)
    z = rng.normal(0, 3, 4000)
    y = (rng.random(4000) < calibration.sigmoid(z / 2.0)).astype(float)  # true temperature 2
    t = calibration.fit_temperature(3.0 * z / 3.0, y)
    assert t == pytest.approx(2.0, rel=0.15)
    assert calibration.ece(calibration.sigmoid(z / t), y) < calibration.ece(calibration.sigmoid(z), y)
    assert calibration.ece(calibration.sigmoid(z / t), y) < 0.03


def test_old_analyses_without_scores_are_not_doubtful():
    old = {"faces": [{"box": {}, "eyes": [{"side": "left", "state": "open", "p_closed": 0.02, "openness": 0.98,
                                           "box": {}}]}]}
    faces = PhotoAnalysis.from_dict(old).faces
    assert faces[0].score == 0.0
    assert check_reasons(faces) == [] and check_reasons(old["faces"]) == []


def test_a_strict_or_lenient_slider_does_not_send_clear_eyes_to_check():
    wide_open = [_face(_eye("left", 0.01, 0.38), _eye("right", 0.02, 0.36))]
    shut = [_face(_eye("left", 0.99, 0.07), _eye("right", 0.98, 0.08))]
    for s in (0.0, 0.25, 0.5, 0.75, 0.9, 1.0):
        t = Thresholds.from_strictness(s)
        assert check_reasons(wide_open, t) == [], s
        assert check_reasons(shut, t) == [], s


def test_the_band_is_check_band_at_the_default_cut_and_narrows_near_the_ends():
    assert near_cut(0.5 + CHECK_BAND - 0.01, 0.5) and not near_cut(0.5 + CHECK_BAND + 0.01, 0.5)
    assert near_cut(0.15, 0.12) and not near_cut(0.02, 0.12)  # strict: half of 0.12 either side
    assert near_cut(0.85, 0.8) and not near_cut(0.95, 0.8)  # lenient: half of the 0.2 left above the cut
