"""judge(): the verdict, confidence and reason from per-eye P(closed), at any strictness."""
from __future__ import annotations

import json

import pytest

from ml.types import Box, EyeResult, EyeState, FaceResult, PhotoAnalysis, Thresholds, Verdict
from ml.verdict import eye_state, judge

BOX = Box(0.1, 0.1, 0.3, 0.3)


def _eye(side: str, p: float, state: EyeState | None = None) -> EyeResult:
    return EyeResult(side=side, state=state or eye_state(p, Thresholds()), p_closed=p, openness=1 - p, box=BOX)


def _face(left: float, right: float, *, size: int = 400, hidden: tuple[str, ...] = ()) -> FaceResult:
    eyes = tuple(
        _eye(side, 0.0, EyeState.NOT_VISIBLE) if side in hidden else _eye(side, p)
        for side, p in (("left", left), ("right", right))
    )
    return FaceResult(box=BOX, score=0.9, size_px=size, is_subject=True, eyes=eyes)


def test_no_face():
    assert judge([], Thresholds()) == (Verdict.NO_FACE, 1.0, "no face found")


def test_reason_names_the_eyes_that_close():
    verdict, confidence, reason = judge([_face(0.94, 0.61)], Thresholds())
    assert verdict is Verdict.BLINKING
    assert reason == "main face: left eye closed (0.94), right eye closed (0.61)"
    assert 0.5 < confidence <= 1.0
    verdict, _, reason = judge([_face(0.94, 0.41)], Thresholds())
    assert reason == "main face: left eye closed (0.94), right eye partly closed (59% open)"


def test_all_open():
    verdict, confidence, reason = judge([_face(0.02, 0.05), _face(0.01, 0.1, size=350)], Thresholds())
    assert verdict is Verdict.NOT_BLINKING
    assert reason == "2 faces, all eyes open"
    assert confidence == pytest.approx(0.5 + 0.5 * (0.5 - 0.1) / 0.5)


def test_strictness_moves_a_partly_closed_eye_across_the_line():
    faces = [_face(0.45, 0.05)]
    lenient, strict = Thresholds.from_strictness(0.0), Thresholds.from_strictness(1.0)
    assert judge(faces, lenient)[0] is Verdict.NOT_BLINKING
    assert judge(faces, Thresholds())[0] is Verdict.NOT_BLINKING
    assert "partly closed (55% open)" in judge(faces, Thresholds())[2]
    assert judge(faces, strict)[0] is Verdict.BLINKING
    # partly_counts: a partly closed eye decides on its own.
    verdict, _, reason = judge(faces, Thresholds(closed=0.9, partly=0.4, partly_counts=True))
    assert verdict is Verdict.BLINKING and reason == "main face: left eye partly closed (55% open)"


def test_confidence_grows_with_the_distance_from_the_cut_off():
    t = Thresholds()
    assert judge([_face(0.99, 0.0)], t)[1] > judge([_face(0.6, 0.0)], t)[1]
    assert judge([_face(0.01, 0.0)], t)[1] > judge([_face(0.4, 0.0)], t)[1]
    for p in (0.0, 0.3, 0.49, 0.5, 0.7, 1.0):
        assert 0.5 <= judge([_face(p, p)], t)[1] <= 1.0


def test_background_faces_never_decide():
    main, background = _face(0.05, 0.02, size=400), _face(0.99, 0.99, size=100)
    verdict, _, reason = judge([main, background], Thresholds())
    assert verdict is Verdict.NOT_BLINKING
    assert reason == "1 face, all eyes open; 1 background face ignored"
    # The same small face counts once the fraction is lowered below its size.
    verdict, _, reason = judge([main, background], Thresholds(min_face_fraction=0.2))
    assert verdict is Verdict.BLINKING and reason.startswith("face 2: ")


def test_not_visible_eyes_are_kept_and_never_blink():
    verdict, confidence, reason = judge([_face(0.0, 0.0, hidden=("left", "right"))], Thresholds())
    assert (verdict, confidence, reason) == (Verdict.NOT_BLINKING, 0.5, "main face: eyes not visible")
    verdict, _, reason = judge([_face(0.0, 0.03, hidden=("left",))], Thresholds.from_strictness(1.0))
    assert verdict is Verdict.NOT_BLINKING
    assert reason == "1 face, all visible eyes open (1 eye not visible)"


def test_stored_dicts_judge_like_the_dataclasses():
    faces = (_face(0.7, 0.2), _face(0.1, 0.35, size=300), _face(0.9, 0.9, size=50))
    analysis = PhotoAnalysis(verdict=Verdict.BLINKING, confidence=0.0, reason="", faces=faces, width=10, height=10)
    stored = json.loads(json.dumps(analysis.to_dict()))["faces"]  # as the web app keeps it
    for s in (0.0, 0.25, 0.5, 0.75, 1.0):
        t = Thresholds.from_strictness(s)
        assert judge(stored, t) == judge(list(faces), t)
    assert judge(stored, Thresholds())[2] == "main face: left eye closed (0.70)"


def test_dicts_without_sizes_use_the_stored_subject_flag():
    face = {"is_subject": False, "eyes": [{"side": "left", "state": "closed", "p_closed": 0.99}]}
    main = {"is_subject": True, "eyes": [{"side": "left", "state": "open", "p_closed": 0.1}]}
    assert judge([main, face], Thresholds())[0] is Verdict.NOT_BLINKING


def test_faces_stored_without_sizes_or_subjects_all_count():
    eye_open = {"side": "left", "state": "open", "p_closed": 0.1}
    eye_shut = {"side": "right", "state": "closed", "p_closed": 0.9}
    faces = [{"size_px": 0, "is_subject": False, "eyes": [eye_open, eye_shut]},
             {"size_px": 0, "is_subject": False, "eyes": [eye_open]}]
    verdict, _, reason = judge(faces, Thresholds())
    assert verdict is Verdict.BLINKING
    assert "right eye closed (0.90)" in reason
