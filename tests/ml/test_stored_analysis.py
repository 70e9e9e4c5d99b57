"""ml owns the stored analysis (to_dict/from_dict with a schema version) and every verdict rule."""
from __future__ import annotations

import json

import pytest

from ml.types import SCHEMA_VERSION, Box, EyeResult, EyeState, FaceResult, PhotoAnalysis, Thresholds, Verdict
from ml.verdict import judge, judgement, verdict_from_faces

BOX = Box(0.1, 0.2, 0.3, 0.4)


def _eye(side: str, p: float, state: EyeState = EyeState.OPEN) -> EyeResult:
    return EyeResult(side=side, state=state, p_closed=p, openness=1 - p, box=BOX, lid_ratio=0.21, crop=b"png")


def _analysis() -> PhotoAnalysis:
    faces = (
        FaceResult(box=BOX, score=0.97, size_px=420, is_subject=True,
                   eyes=(_eye("left", 0.91, EyeState.CLOSED), _eye("right", 0.1))),
        FaceResult(box=BOX, score=0.8, size_px=90, is_subject=False, eyes=(_eye("left", 0.95, EyeState.CLOSED),)),
    )
    verdict, confidence, reason = judge(faces, Thresholds())
    return PhotoAnalysis(verdict=verdict, confidence=confidence, reason=reason, faces=faces, width=6000, height=4000)


def test_round_trip_through_json_keeps_everything_but_the_crop_bytes():
    analysis = _analysis()
    stored = json.loads(json.dumps(analysis.to_dict()))
    assert stored["schema"] == SCHEMA_VERSION
    back = PhotoAnalysis.from_dict(stored)
    assert back == analysis  # crops and timings don't take part in equality
    assert back.faces[0].eyes[0].crop is None and back.faces[0].eyes[0].lid_ratio == 0.21


def test_keys_the_web_app_adds_are_ignored():
    stored = _analysis().to_dict()
    stored["model"] = {"version": "v7"}
    stored["faces"][0]["eyes"][0]["crop_path"] = "derived/abc/m1/eye-0-left.png"
    assert PhotoAnalysis.from_dict(stored) == _analysis()


def test_schema_1_dicts_from_before_the_version_key_still_load():
    old = {"verdict": "BLINKING", "confidence": 0.9, "reason": "main face: left eye closed (0.91)",
           "faces": [{"box": {"x0": 0.1, "y0": 0.2, "x1": 0.3, "y1": 0.4},
                      "eyes": [{"side": "left", "state": "closed", "p_closed": 0.91, "openness": 0.09,
                                "box": {"x0": 0.1, "y0": 0.2, "x1": 0.2, "y1": 0.25}, "crop_path": "x.png"}]}]}
    analysis = PhotoAnalysis.from_dict(old)
    assert analysis.verdict is Verdict.BLINKING
    face = analysis.faces[0]
    assert face.size_px == 0 and face.is_subject and face.eyes[0].state is EyeState.CLOSED
    assert face.eyes[0].lid_ratio is None
    assert (analysis.width, analysis.height) == (0, 0)


@pytest.mark.parametrize("data", [[], {"schema": SCHEMA_VERSION + 1, "faces": []},
                                  {"faces": [{"eyes": [{"state": "winking"}]}]}])
def test_unreadable_or_newer_data_is_refused_with_a_value_error(data):
    with pytest.raises(ValueError):
        PhotoAnalysis.from_dict(data)


def test_judgement_gives_each_face_its_own_label_and_subject_flag():
    faces = _analysis().to_dict()["faces"]
    j = judgement(faces, Thresholds())
    assert j.verdict is Verdict.BLINKING and j.reason.startswith("main face: left eye closed")
    assert [f.is_subject for f in j.faces] == [True, False]  # 90 px beside 420 px is a background face
    assert [f.verdict for f in j.faces] == [Verdict.BLINKING, Verdict.BLINKING]
    assert j.faces[0].eye_states == (EyeState.CLOSED, EyeState.OPEN)
    assert (j.verdict, j.confidence, j.reason) == judge(faces, Thresholds())


def test_without_sizes_or_subjects_every_face_counts():
    # Stored data from before sizes and subject flags: rather every face than none.
    faces = [{"is_subject": False, "eyes": [{"side": "left", "state": "open", "p_closed": 0.05}]},
             {"is_subject": False, "eyes": [{"side": "left", "state": "closed", "p_closed": 0.9}]}]
    j = judgement(faces, Thresholds())
    assert [f.is_subject for f in j.faces] == [True, True]
    assert j.verdict is Verdict.BLINKING


def test_a_photo_follows_its_faces_and_labelled_faces_count():
    assert verdict_from_faces([]) is Verdict.NO_FACE
    assert verdict_from_faces([("NOT_BLINKING", True), ("BLINKING", False)]) is Verdict.NOT_BLINKING
    assert verdict_from_faces([("NOT_BLINKING", True), (Verdict.BLINKING, True)]) is Verdict.BLINKING


def test_verdict_labels_are_what_a_photographer_reads():
    assert [v.label for v in Verdict] == ["Blinking", "Not blinking", "No face"]
