"""The focus, motion and framing checks (ml/detectors/{focus,motion,framing}.py) on small images the tests
draw: each rule and each failure (no face, tiny eyes, a hidden eye, noise, a panned shot, a flat backdrop,
black and white, background-only blur), the session reference, JSON round trips and the registry listing."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from ml import detectors
from ml.detectors import Subject
from ml.detectors.focus_reference import FOCUS_REFERENCE
from ml.imaging import DecodedImage, decode
from ml.sharpness import measure
from ml.types import Box, EyeResult, EyeState, FaceResult, PhotoAnalysis, Verdict

ROOT = Path(__file__).resolve().parents[2]
W, H = 600, 800  # a portrait frame
FACE = Box(0.3, 0.3, 0.7, 0.6)
LEFT_EYE, RIGHT_EYE = Box(0.38, 0.37, 0.48, 0.41), Box(0.52, 0.37, 0.62, 0.41)


def _texture(size: tuple[int, int], seed: int, count: int = 400) -> Image.Image:
    """Random rectangles and bars: clear edges in both directions, like lids, lashes and hair at eye scale."""
    rng = np.random.default_rng(seed)
    a = np.full((size[1], size[0]), 120, np.uint8)
    for _ in range(count * size[0] * size[1] // 240_000):
        x, y = rng.integers(0, size[0]), rng.integers(0, size[1])
        w, h = rng.integers(6, 30, 2)
        a[y:y + h, x:x + w] = rng.integers(0, 255)
    return Image.fromarray(a).convert("RGB")


def _photo(*, face_blur: float = 0.0, background_blur: float = 0.0, background: str = "texture",
           smear: int = 0, smear_background: int = 0, noise: float = 0.0, grey: bool = False) -> Image.Image:
    frame = _texture((W, H), 1) if background == "texture" else Image.new("RGB", (W, H), (200, 205, 210))
    if background_blur:
        frame = frame.filter(ImageFilter.GaussianBlur(background_blur))
    if smear_background:
        frame = frame.filter(ImageFilter.BoxBlur(((smear_background - 1) / 2, 0)))
    fx0, fy0, fx1, fy1 = (round(FACE.x0 * W), round(FACE.y0 * H), round(FACE.x1 * W), round(FACE.y1 * H))
    face = _texture((fx1 - fx0, fy1 - fy0), 2)
    if face_blur:
        face = face.filter(ImageFilter.GaussianBlur(face_blur))
    if smear:
        face = face.filter(ImageFilter.BoxBlur(((smear - 1) / 2, 0)))
    frame.paste(face, (fx0, fy0))
    if noise:
        a = np.asarray(frame, np.float32) + np.random.default_rng(3).normal(0, noise, (H, W, 1))
        frame = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    return frame.convert("L").convert("RGB") if grey else frame


def _analysis(faces=None, *, eye_px: float = 48.0, hidden: str = "", width=W, height=H) -> PhotoAnalysis:
    if faces is None:
        eyes = tuple(EyeResult(side=side, state=EyeState.NOT_VISIBLE if side in hidden else EyeState.OPEN,
                               p_closed=0.02, openness=0.95, box=box, width_px=eye_px)
                     for side, box in (("right", LEFT_EYE), ("left", RIGHT_EYE)))
        faces = (FaceResult(box=FACE, score=0.9, size_px=240, is_subject=True, eyes=eyes),)
    return PhotoAnalysis(verdict=Verdict.NOT_BLINKING if faces else Verdict.NO_FACE, confidence=0.9, reason="",
                         faces=faces, width=width, height=height)


def _subject(image: Image.Image | None, analysis: PhotoAnalysis | None = None) -> Subject:
    decoded = None if image is None else DecodedImage(image=image, original_width=image.width,
                                                      original_height=image.height, format="JPEG",
                                                      taken_at=None, scale=1.0)
    return Subject(analysis=analysis or _analysis(), image=decoded)


def _judge(key: str, subject: Subject, strictness: float = 0.5, context=None):
    check = detectors.get(key)
    details = check.analyse(subject)
    assert json.loads(json.dumps(details)) == details  # stored as JSON, judged from JSON
    return check.judge(json.loads(json.dumps(details)), strictness, context)


# -- ml.sharpness --------------------------------------------------------------------------------------------

def test_the_blur_measure_grows_with_a_gaussian_blur():
    base = _texture((160, 160), 5)
    readings = [measure(np.asarray(base.filter(ImageFilter.GaussianBlur(s)).convert("L"), np.float32)).defocus
                for s in (0.01, 1, 2, 3)]
    assert readings == sorted(readings)
    assert readings[3] > 2 * readings[0]  # px-like: dense texture (edges close together) reads a little low


def test_a_horizontal_smear_reads_as_motion_not_defocus():
    base = _texture((200, 160), 6).filter(ImageFilter.BoxBlur((7, 0)))  # 15 px long
    blur = measure(np.asarray(base.convert("L"), np.float32))
    assert blur.motion > 3 * blur.defocus and (blur.angle < 20 or blur.angle > 160)


def test_a_flat_region_has_nothing_to_measure():
    assert measure(np.full((100, 100), 128, np.float32)) is None
    noise = np.random.default_rng(0).normal(128, 5, (100, 100)).astype(np.float32)
    assert measure(noise) is None or measure(noise).noise == pytest.approx(5, rel=0.3)


# -- focus ---------------------------------------------------------------------------------------------------

def test_sharp_eyes_pass_and_soft_eyes_are_flagged_with_the_sharper_eye_named():
    sharp = _judge("focus", _subject(_photo()))
    soft = _judge("focus", _subject(_photo(face_blur=3)))
    assert sharp.applies and not sharp.flagged and soft.flagged
    assert soft.sentence.startswith("eyes soft") and "eye sharper" in soft.sentence
    assert soft.score > sharp.score and soft.face_index == 0


def test_background_blur_never_counts():
    finding = _judge("focus", _subject(_photo(background_blur=4)))
    assert not finding.flagged


def test_noise_does_not_read_as_soft_or_as_sharp():
    assert not _judge("focus", _subject(_photo(noise=10))).flagged
    assert _judge("focus", _subject(_photo(face_blur=3, noise=10))).flagged


def test_black_and_white_photos_are_judged_alike():
    assert not _judge("focus", _subject(_photo(grey=True))).flagged
    assert _judge("focus", _subject(_photo(face_blur=3, grey=True))).flagged


def test_a_hidden_eye_leaves_the_other_and_both_hidden_fall_back_to_the_face():
    one = _judge("focus", _subject(_photo(face_blur=3), _analysis(hidden="left")))
    assert one.flagged and one.sentence.startswith("eye soft")
    both = _judge("focus", _subject(_photo(face_blur=3), _analysis(hidden="left right")))
    assert both.flagged and both.sentence.startswith("face soft")


def test_tiny_eyes_are_judged_on_the_face():
    finding = _judge("focus", _subject(_photo(face_blur=3), _analysis(eye_px=6)))
    assert finding.applies and finding.sentence.startswith("face")


def test_no_face_is_judged_on_the_most_detailed_region_and_a_flat_frame_not_at_all():
    blurred_frame = _photo().filter(ImageFilter.GaussianBlur(4))
    detailed = _photo(background_blur=4)  # the sharp "face" patch is now just the most detailed region
    assert _judge("focus", _subject(blurred_frame, _analysis(()))).flagged
    assert not _judge("focus", _subject(detailed, _analysis(()))).flagged
    flat = _judge("focus", _subject(Image.new("RGB", (W, H), (90, 90, 90)), _analysis(())))
    assert not flat.applies and not flat.flagged and "nothing to judge" in flat.sentence
    assert not _judge("motion", _subject(Image.new("RGB", (W, H), (90, 90, 90)), _analysis(()))).applies


def test_without_pixels_focus_is_not_judged():
    assert not _judge("focus", _subject(None)).applies


def test_strictness_moves_the_limit():
    subject = _subject(_photo(face_blur=1.6))
    scores = {s: _judge("focus", subject, s) for s in (0.0, 1.0)}
    assert not scores[0.0].flagged and scores[1.0].flagged


def test_the_session_reference_keeps_a_soft_lens_session_from_being_all_flagged():
    photos = {i: {"focus": detectors.get("focus").analyse(_subject(_photo(face_blur=b)))}
              for i, b in enumerate([2.2, 2.3, 2.2, 2.4, 2.3, 6.0])}  # a soft lens; one frame badly missed
    contexts = FOCUS_REFERENCE.run(photos, {})
    assert set(contexts) == set(photos)
    judged = {i: detectors.get("focus").judge(d["focus"], 0.5, contexts[i]["focus"]) for i, d in photos.items()}
    assert [judged[i].flagged for i in range(6)] == [False] * 5 + [True]
    assert "of this session's sharpest frames" in judged[5].sentence
    # Without the reference the soft lens is judged on the absolute limit alone.
    assert all(detectors.get("focus").judge(photos[i]["focus"]).flagged for i in range(6))


def test_the_reference_is_per_subject_and_needs_a_few_frames():
    value = {"focus": detectors.get("focus").analyse(_subject(_photo()))}
    tagged = {i: {"focus": {**value["focus"], "subject": "ann" if i < 3 else "bob"}} for i in range(5)}
    contexts = FOCUS_REFERENCE.run(tagged, {})
    assert set(contexts) == {0, 1, 2}  # bob has two frames: no reference


def test_the_absolute_floor_still_catches_a_session_of_mush():
    photos = {i: {"focus": detectors.get("focus").analyse(_subject(_photo(face_blur=5)))} for i in range(4)}
    contexts = FOCUS_REFERENCE.run(photos, {})
    assert all(detectors.get("focus").judge(p["focus"], 0.5, contexts[i]["focus"]).flagged for i, p in photos.items())


# -- motion --------------------------------------------------------------------------------------------------

def test_a_moving_subject_is_named_with_its_direction_and_length():
    finding = _judge("motion", _subject(_photo(smear=25)))
    assert finding.flagged and finding.sentence.startswith("motion blur on the face, horizontal, about")
    assert not _judge("focus", _subject(_photo(smear=25))).flagged  # not also called out of focus


def test_camera_shake_smears_the_whole_frame():
    finding = _judge("motion", _subject(_photo(smear=25, smear_background=25)))
    assert finding.flagged and finding.sentence.startswith("camera shake")


def test_a_panned_shot_with_a_sharp_subject_is_not_flagged():
    finding = _judge("motion", _subject(_photo(smear_background=31)))
    assert not finding.flagged and "panned" in finding.sentence


def test_defocus_is_not_motion_and_a_flat_backdrop_is_fine():
    assert not _judge("motion", _subject(_photo(face_blur=3))).flagged
    steady = _judge("motion", _subject(_photo(background="flat")))
    assert steady.applies and not steady.flagged
    assert _judge("motion", _subject(_photo(smear=25, background="flat"))).flagged


# -- framing -------------------------------------------------------------------------------------------------

def _framed(eye_y: float, iod: float, *, roll: float = 0.0, face_x: float = 0.5, faces: int = 1) -> PhotoAnalysis:
    """A face whose eye line sits at `eye_y` (share of the height) with eyes `iod` frame heights apart."""
    half = iod * H / W / 2
    dy = np.tan(np.radians(roll)) * iod / 2
    eyes = tuple(EyeResult(side=s, state=EyeState.OPEN, p_closed=0.0, openness=1.0,
                           box=Box(face_x + sx * half - 0.02, eye_y + sy * dy - 0.01, face_x + sx * half + 0.02,
                                   eye_y + sy * dy + 0.01)) for s, sx, sy in (("right", -1, -1), ("left", 1, 1)))
    fw = 2.2 * iod * H / W
    face = FaceResult(box=Box(face_x - fw / 2, eye_y - 0.7 * iod, face_x + fw / 2, eye_y + 1.9 * iod), score=0.9,
                      size_px=int(fw * W), is_subject=True, eyes=eyes)
    return _analysis((face,) * faces)


@pytest.mark.parametrize("analysis, words", [
    (_framed(0.33, 0.11), None),
    (_framed(0.08, 0.11), "forehead"),
    (_framed(0.18, 0.11), None),  # hair cropped: fine
    (_framed(0.82, 0.11), "chin cut"),
    (_framed(0.55, 0.11), "eye line"),
    (_framed(0.35, 0.04), "small"),
    (_framed(0.33, 0.11, roll=25), "tilted 25"),
    (_framed(0.33, 0.11, face_x=0.15), "left edge"),
])
def test_each_framing_rule_says_why(analysis, words):
    finding = _judge("framing", _subject(None, analysis))
    assert finding.applies and finding.flagged == (words is not None)
    assert (words or "fine") in finding.sentence.lower()


def test_framing_is_off_for_groups_wide_shots_and_no_face():
    group = _judge("framing", _subject(None, _framed(0.33, 0.11, faces=3)))
    wide = _judge("framing", _subject(None, _framed(0.3, 0.015)))
    none = _judge("framing", _subject(None, _analysis(())))
    assert not any(f.applies or f.flagged for f in (group, wide, none))
    assert "3 people" in group.sentence and "full-length" in wide.sentence and "no face" in none.sentence


def test_framing_strictness_moves_the_limits():
    subject = _subject(None, _framed(0.47, 0.11))
    assert not _judge("framing", subject, 0.0).flagged and _judge("framing", subject, 1.0).flagged
    assert not detectors.get("framing").rejects


# -- decode detail, registry ---------------------------------------------------------------------------------

@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_the_detail_image_crops_the_same_place_as_the_working_image(orientation):
    upright = _photo()
    stored = {1: upright, 3: upright.rotate(180), 6: upright.rotate(90, expand=True),
              8: upright.rotate(270, expand=True)}[orientation]
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = _jpeg(stored.resize((stored.width * 4, stored.height * 4)), exif)
    plain, detailed = decode(data, max_side=400), decode(data, max_side=400, detail_side=1600)
    assert plain.detail is None and detailed.image.size == plain.image.size
    crop = np.asarray(detailed.detail.crop(FACE.x0, FACE.y0, FACE.x1, FACE.y1).convert("L").resize((60, 75)), float)
    want = np.asarray(upright.crop((180, 240, 420, 480)).convert("L").resize((60, 75)), float)
    assert np.corrcoef(crop.ravel(), want.ravel())[0, 1] > 0.9


def _jpeg(image: Image.Image, exif: Image.Exif) -> bytes:
    import io

    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=92, exif=exif)
    return buf.getvalue()


def test_the_registry_lists_the_checks():
    out = subprocess.run([sys.executable, "-m", "ml.detectors", "--json"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    listed = {c["key"]: c for c in json.loads(out)}
    assert list(listed) == ["blink", "focus", "motion", "framing", "burst"]
    assert listed["framing"]["rejects"] is False and listed["burst"]["rejects"] is False and listed["focus"]["rejects"] is True
    keys = [k for c in listed.values() for k in (c["words"]["key"], c["words"]["clear_key"])]
    assert len(keys) == len(set(keys))
