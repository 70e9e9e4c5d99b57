"""Subjects, each subject's own eyes, bursts and best frames (issue 22, ml side): the burst check's stored
descriptors, the three session steps over stored details (no pixels), the eye check with a subject's usual
opening, and `python -m ml.bursts`."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from ml import detectors
from ml.detectors import Subject, get, run_session_steps
from ml.detectors.bursts import bursts
from ml.detectors.likeness import _pack
from ml.detectors.subject_eyes import MIN_FRAMES
from ml.detectors.subjects import cluster_faces
from ml.imaging import DecodedImage
from ml.types import Box, EyeResult, EyeState, FaceResult, PhotoAnalysis, Verdict

ROOT = Path(__file__).resolve().parents[2]
RNG = np.random.default_rng(22)
PEOPLE = {name: RNG.normal(size=576) for name in ("anna", "ben")}
SCENES = {name: RNG.normal(size=256) for name in ("wall", "window", "garden")}
POSE = {"roll": -2.0, "eye_x": 0.5, "eye_y": 0.4, "span": 0.42, "cx": 0.5, "cy": 0.45, "size": 0.3}


def _noisy(vector: np.ndarray, amount: float, seed: int) -> str:
    noisy = vector + np.random.default_rng(seed).normal(scale=amount, size=vector.shape)
    return _pack((noisy - noisy.mean()) / noisy.std())


def _eye(side: str, openness: float, p_closed: float | None = None) -> dict:
    p = p_closed if p_closed is not None else (0.9 if openness < 0.5 else 0.05)
    return {"side": side, "visible": True, "openness": openness, "p_closed": p}


def _photo(seed: int, person: str | None = "anna", scene: str = "wall", *, openness=(0.95, 0.95), taken=None,
           pose: dict | None = None, blur: float | None = None, extra: str | None = None) -> dict:
    """One photo's stored details: the burst check's, the eye check's (to judge) and the focus check's."""
    faces, blink_faces = [], []
    for who, size in ((person, 320), (extra, 300)):
        if who is None:
            continue
        eyes = [_eye("left", openness[0]), _eye("right", openness[1])]
        faces.append({"is_subject": True, "size_px": size, "pose": dict(POSE, **(pose or {})),
                      "crop": _noisy(PEOPLE[who], 0.3, seed), "eyes": eyes})
        blink_faces.append({"box": {"x0": 0.3, "y0": 0.2, "x1": 0.6, "y1": 0.6}, "score": 0.9, "size_px": size,
                            "is_subject": True, "presence": 0.99,
                            "eyes": [{"side": e["side"], "state": "open", "p_closed": e["p_closed"],
                                      "openness": e["openness"], "box": {"x0": 0, "y0": 0, "x1": 0.1, "y1": 0.1},
                                      "width_px": 40.0} for e in eyes]})
    details = {"burst": {"schema": 1, "taken_at": taken.isoformat() if taken else None,
                         "frame": {"thumb": _noisy(SCENES[scene], 0.15, seed + 1000), "dhash": "0" * 16},
                         "faces": faces},
               "blink": {"schema": 3, "faces": blink_faces}}
    if blur is not None:
        details["focus"] = {"schema": 1, "pixels": True, "main": None,
                            "faces": [{"is_subject": True, "size_px": 320, "blur": None,
                                       "eyes": [{"side": "left", "eye_px": 40, "visible": True,
                                                 "blur": {"defocus": blur}}]}]}
    return details


def _bursts_of(photos: dict, **kw) -> list[list]:
    found = bursts(photos, run_session_steps(photos), **kw)
    runs: dict = {}
    for pid, ctx in found.items():
        runs.setdefault(ctx["burst"]["id"], []).append(pid)
    return sorted(runs.values())


# --- the registry ------------------------------------------------------------------------------------------

def test_the_burst_check_and_the_steps_are_registered_in_order():
    assert [d.key for d in detectors.detectors()][-1] == "burst" and not get("burst").rejects
    assert [s.key for s in detectors.session_steps()] == ["subjects", "subject_eyes", "focus_reference", "bursts"]


# --- the per-photo descriptors -----------------------------------------------------------------------------

def _drawn_face(shift: int = 0) -> tuple[Image.Image, PhotoAnalysis]:
    im = Image.new("RGB", (640, 480), (90, 110, 140))
    draw = ImageDraw.Draw(im)
    draw.ellipse((240 + shift, 120, 400 + shift, 330), fill=(220, 180, 160))
    for x in (280, 360):
        draw.ellipse((x - 14 + shift, 190, x + 14 + shift, 204), fill=(250, 250, 250))
        draw.ellipse((x - 5 + shift, 192, x + 5 + shift, 202), fill=(40, 30, 20))
    draw.line((290 + shift, 280, 350 + shift, 280), fill=(150, 60, 60), width=4)

    def eye(side: str, x: int) -> EyeResult:
        return EyeResult(side=side, state=EyeState.OPEN, p_closed=0.02, openness=0.97,
                         box=Box((x - 20 + shift) / 640, 180 / 480, (x + 20 + shift) / 640, 214 / 480))

    face = FaceResult(box=Box((240 + shift) / 640, 120 / 480, (400 + shift) / 640, 330 / 480), score=0.9, size_px=160,
                      is_subject=True, eyes=(eye("right", 280), eye("left", 360)))
    return im, PhotoAnalysis(verdict=Verdict.NOT_BLINKING, confidence=0.9, reason="", faces=(face,), width=640, height=480)


def test_the_burst_check_stores_json_descriptors_and_the_capture_time():
    im, analysis = _drawn_face()
    taken = datetime(2026, 5, 1, 10, 0, 0, 250000)
    decoded = DecodedImage(image=im, original_width=640, original_height=480, format="JPEG", taken_at=taken, scale=1.0)
    details = get("burst").analyse(Subject(analysis=analysis, image=decoded))
    assert json.loads(json.dumps(details)) == details and details["schema"] == 1
    assert details["taken_at"] == "2026-05-01T10:00:00.250000"
    assert len(details["frame"]["thumb"]) == 2 * 256 and len(details["frame"]["dhash"]) == 16
    face = details["faces"][0]
    assert len(face["crop"]) == 2 * 24 * 24 and face["pose"]["roll"] == pytest.approx(0.0, abs=0.5)
    assert [e["openness"] for e in face["eyes"]] == [0.97, 0.97]
    # Without pixels: the pose and eyes still, no crop or thumbnail.
    bare = get("burst").analyse(Subject(analysis=analysis))
    assert bare["frame"] is None and bare["faces"][0]["crop"] is None and bare["faces"][0]["pose"]


def test_a_shifted_frame_of_the_same_face_looks_alike():
    from ml.detectors.likeness import likeness, unpack

    (a, fa), (b, fb) = _drawn_face(), _drawn_face(shift=12)
    da = get("burst").analyse(Subject(analysis=fa, image=DecodedImage(a, 640, 480, "JPEG", None, 1.0)))
    db = get("burst").analyse(Subject(analysis=fb, image=DecodedImage(b, 640, 480, "JPEG", None, 1.0)))
    assert likeness(unpack(da["faces"][0]["crop"]), unpack(db["faces"][0]["crop"])) > 0.9


# --- subjects ----------------------------------------------------------------------------------------------

def _mixed_session() -> dict:
    people = ["anna"] * 5 + ["ben"] * 3 + ["anna"] * 2
    return {i: _photo(i, person) for i, person in enumerate(people)}


def test_faces_cluster_into_subjects_numbered_by_photo_count():
    labels = cluster_faces(_mixed_session())
    assert [labels[i][0] for i in range(10)] == [1] * 5 + [2] * 3 + [1] * 2


def test_subjects_are_deterministic_and_stable_as_photos_arrive():
    session = _mixed_session()
    first = cluster_faces(session)
    assert cluster_faces(dict(reversed(list(session.items())))) == first  # the same details, any dict order
    more = {**session, **{10 + i: _photo(10 + i, "ben") for i in range(2)}}
    later = cluster_faces(more)
    assert {pid: later[pid] for pid in session} == first


def test_two_faces_of_one_photo_are_two_subjects():
    session = {i: _photo(i, "anna", extra="ben") for i in range(3)}
    labels = cluster_faces(session)
    assert all(sorted(labels[i]) == [1, 2] for i in range(3))
    contexts = run_session_steps(session)
    assert contexts[0]["burst"]["subject_photos"] == [3, 3] and contexts[0]["focus"]["subject"] in (1, 2)


# --- each subject's own eyes -------------------------------------------------------------------------------

def _eyes_session(opens: list[tuple[float, float]]) -> tuple[dict, dict]:
    photos = {i: _photo(i, openness=o) for i, o in enumerate(opens)}
    return photos, run_session_steps(photos)


def test_a_squint_is_flagged_against_the_subjects_usual_opening_with_a_third_blinks():
    # 12 frames: 6 open, 4 blinks (closed), 2 squints that read "open" alone.
    opens = [(0.95, 0.93)] * 6 + [(0.05, 0.04)] * 4 + [(0.55, 0.52)] * 2
    photos, contexts = _eyes_session(opens)
    usual = contexts[0]["blink"]["faces"][0]
    assert usual["name"] == "Subject 1" and usual["usual"]["left"] == pytest.approx(0.95, abs=0.01)
    blink = get("blink")
    squint = blink.judge(photos[10]["blink"], 0.5, contexts[10]["blink"])
    alone = blink.judge(photos[10]["blink"], 0.5)
    assert not alone.flagged and squint.flagged
    assert squint.sentence == "eyes 56 % of Subject 1's usual opening in this session"
    assert not blink.judge(photos[0]["blink"], 0.5, contexts[0]["blink"]).flagged
    assert blink.judge(photos[6]["blink"], 0.5, contexts[6]["blink"]).flagged  # blinks stay blinks
    lenient = blink.judge(photos[10]["blink"], 0.2, contexts[10]["blink"])  # lenient: to check, not rejected
    assert not lenient.flagged and lenient.needs_check and "usual opening" in lenient.check_reasons[-1]


def test_a_subject_whose_eyes_are_always_narrow_is_not_flagged():
    photos, contexts = _eyes_session([(0.55, 0.58), (0.57, 0.56), (0.6, 0.55)] * 4)
    blink = get("blink")
    assert not any(blink.judge(photos[i]["blink"], 0.5, contexts[i]["blink"]).flagged for i in photos)


def test_before_eight_frames_the_photo_alone_rule_stands():
    opens = [(0.95, 0.93)] * (MIN_FRAMES - 3) + [(0.55, 0.52)] * 2
    photos, contexts = _eyes_session(opens)
    assert all("blink" not in contexts.get(i, {}) for i in photos)
    blink = get("blink")
    for i in photos:
        assert blink.judge(photos[i]["blink"], 0.5, contexts.get(i, {}).get("blink")) == blink.judge(photos[i]["blink"])


# --- bursts and the best frame -----------------------------------------------------------------------------

def test_bursts_split_by_capture_time_gaps():
    t0 = datetime(2026, 5, 1, 10, 0, 0)
    times = [0, 0.3, 0.6, 30, 30.4, 90]
    photos = {i: _photo(i, taken=t0 + timedelta(seconds=s)) for i, s in enumerate(times)}
    assert _bursts_of(photos) == [[0, 1, 2], [3, 4], [5]]


def test_capture_time_orders_frames_uploaded_out_of_order():
    t0 = datetime(2026, 5, 1, 10, 0, 0)
    photos = {i: _photo(i, "anna", scene, taken=t0 + timedelta(seconds=s))
              for i, (s, scene) in enumerate([(10, "window"), (0, "wall"), (10.3, "window"), (0.3, "wall")])}
    assert _bursts_of(photos) == [[0, 2], [1, 3]]


def test_without_times_bursts_follow_likeness_in_file_order():
    scenes = ["wall"] * 3 + ["window"] * 2 + ["garden"] + ["wall"] * 2
    photos = {i: _photo(i, None, scene) for i, scene in enumerate(scenes)}
    assert _bursts_of(photos) == [[0, 1, 2], [3, 4], [5], [6, 7]]


def test_one_backdrop_splits_by_pose_and_by_person():
    poses = [{}] * 3 + [{"roll": 8.0}] * 3 + [{"eye_x": 0.62, "span": 0.3}] * 2
    photos = {i: _photo(i, pose=p) for i, p in enumerate(poses)}
    photos.update({8: _photo(8, "ben"), 9: _photo(9, "ben")})
    assert _bursts_of(photos) == [[0, 1, 2], [3, 4, 5], [6, 7], [8, 9]]
    # At the lowest sensitivity the tilt is within a burst's tolerance: one burst of six.
    assert _bursts_of(photos, sensitivity=0.0)[0] == [0, 1, 2, 3, 4, 5]


def test_the_best_frame_has_open_eyes_then_the_sharpest():
    frames = [((0.95, 0.9), 2.5), ((0.05, 0.04), 0.9), ((0.96, 0.94), 1.0), ((0.5, 0.9), 0.9), ((0.94, 0.95), 1.05)]
    photos = {i: _photo(i, openness=o, blur=b) for i, (o, b) in enumerate(frames)}
    contexts = bursts(photos, run_session_steps(photos))
    assert {c["burst"]["best"] for c in contexts.values()} == {2}
    assert contexts[2]["burst"] | {"id": None} == {"id": None, "size": 5, "rank": 1, "best": 2,
                                                   "why": "best of 5: eyes open, sharpest eyes"}
    assert contexts[1]["burst"]["rank"] == 5  # the blink is last
    burst = get("burst")
    assert not burst.judge({}, 0.5, contexts[2]["burst"]).flagged  # judge_all passes each check its own context
    alternate = burst.judge({}, 0.5, dict(contexts[1]["burst"], best_name="IMG_0012.JPG"))
    assert alternate.flagged and alternate.sentence == "burst of 5: frame ranked 5, best is IMG_0012.JPG"
    assert not burst.judge({}, 0.5, None).applies


def test_contexts_are_json():
    photos = _mixed_session()
    contexts = run_session_steps(photos)
    assert json.loads(json.dumps(contexts)) == {str(k): v for k, v in contexts.items()}


def test_the_cli_groups_a_folder(tmp_path):
    im, _ = _drawn_face()
    for name, shift in (("b.jpg", 0), ("a.jpg", 2), ("c.jpg", 200)):
        Image.fromarray(np.roll(np.asarray(im), shift, axis=1)).save(tmp_path / name, quality=90)
    (tmp_path / "notes.txt").write_text("not a photo")
    out = tmp_path / "out" / "bursts.json"
    run = subprocess.run([sys.executable, "-m", "ml.bursts", str(tmp_path), "--json", str(out)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    result = json.loads(out.read_text())
    assert set(result) == {"groups", "singles"}
    named = sorted(result["singles"] + [f for g in result["groups"] for f in g["files"]])
    assert named == ["a.jpg", "b.jpg", "c.jpg"]
    assert result["groups"] and all(g["best"] in g["files"] and g["why"].startswith("best of") for g in result["groups"])


def test_the_bursts_step_names_the_best_frame_when_given_file_names():
    frames = [((0.95, 0.9), 2.5), ((0.96, 0.94), 1.0), ((0.94, 0.95), 1.05)]
    photos = {i: _photo(i, openness=o, blur=b) for i, (o, b) in enumerate(frames)}
    contexts = run_session_steps(photos, names={0: "IMG_0001.JPG", 1: "IMG_0002.JPG", 2: "IMG_0003.JPG"})
    assert {c["burst"]["best"] for c in contexts.values()} == {1}  # open eyes and the sharpest
    assert {c["burst"]["best_name"] for c in contexts.values()} == {"IMG_0002.JPG"}
    assert "best_name" not in run_session_steps(photos)[0]["burst"]  # no names given: none invented
