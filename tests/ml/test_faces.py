"""Faces, eye landmarks and eye crops on real photos (real MediaPipe models, no mocks)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from ml import eyes, faces
from tests.conftest import require

CLOSED_PHOTOS = ("hoanganhpham1006_close.jpg", "yoshidan_closed_man.jpg", "yoshidan_closed_woman.jpg")
GROUP_PHOTOS = ("hoanganhpham1006_1.jpeg", "hoanganhpham1006_test1.jpg", "hoanganhpham1006_test2.jpg")


def _photo(shared_data: Path, folder: str, name: str) -> np.ndarray:
    path = shared_data / "photos" / folder / name
    require(path.is_file(), f"test photo missing: {path}")
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


@pytest.fixture(scope="module")
def photo_faces(shared_data) -> dict[str, tuple[np.ndarray, list[faces.Face]]]:
    out = {}
    for folder, names in (("closed", CLOSED_PHOTOS), ("unlabeled", GROUP_PHOTOS)):
        for name in names:
            rgb = _photo(shared_data, folder, name)
            out[name] = (rgb, faces.find_faces(rgb))
    return out


def _inside(inner: tuple[float, ...], outer: np.ndarray, tol: float) -> bool:
    x0, y0, x1, y1 = inner
    return x0 >= outer[0] - tol and y0 >= outer[1] - tol and x1 <= outer[2] + tol and y1 <= outer[3] + tol


def test_landmarks_land_on_the_eyes_of_real_faces(photo_faces):
    checked = 0
    for name, (_, found) in photo_faces.items():
        assert found, f"no face found in {name}"
        for face in found:
            box = face.detection.box
            face_w = face.width
            by_side = {e.side: e for e in face.eyes}
            assert set(by_side) == {"left", "right"}
            for eye in face.eyes:
                if not eye.visible:
                    continue
                checked += 1
                # The eye sits inside the face box, in its upper part, and is a plausible size.
                assert _inside(eye.box(margin=0.0), box, tol=0.05 * face_w), (name, eye.side)
                assert (eye.outer[1] + eye.inner[1]) / 2 < box[1] + 0.65 * (box[3] - box[1]), (name, eye.side)
                assert 0.08 * face_w < eye.width < 0.45 * face_w, (name, eye.side, eye.width, face_w)
                # The iris centre is within the eye (grown a little: closed lids hide the iris).
                assert _inside((*eye.iris[0], *eye.iris[0]), np.array(eye.box(margin=0.2)), tol=0.0), (name, eye.side)
            left, right = by_side["left"], by_side["right"]
            if left.visible and right.visible:
                # Upright faces: the subject's left eye shows on the image right.
                assert left.outer[0] > right.outer[0], name
                assert left.outer[0] > left.inner[0] and right.outer[0] < right.inner[0], name
    assert checked >= 40


def test_group_photos_find_every_face(photo_faces):
    assert len(photo_faces["hoanganhpham1006_1.jpeg"][1]) == 4
    assert 7 <= len(photo_faces["hoanganhpham1006_test1.jpg"][1]) <= 8
    # A crowd of ~40-80 px faces in a 960 px frame: the tiled pass finds most of them.
    assert len(photo_faces["hoanganhpham1006_test2.jpg"][1]) >= 12
    widths = [f.width for f in photo_faces["hoanganhpham1006_test1.jpg"][1]]
    assert widths == sorted(widths, reverse=True)  # largest first


def test_closed_eye_photos_have_collapsed_lids(photo_faces):
    for name in CLOSED_PHOTOS:
        main = photo_faces[name][1][0]
        for eye in main.eyes:
            assert eye.visible, (name, eye.side, eye.why_not_visible)
            assert eye.lid_ratio < 0.2, (name, eye.side, eye.lid_ratio)
    # Open eyes in the selfie group: the lid outline stays wide open.
    open_ratios = [e.lid_ratio for f in photo_faces["hoanganhpham1006_test1.jpg"][1][1:4] for e in f.eyes]
    assert min(open_ratios) > 0.28


def test_blank_and_noise_images_have_no_face():
    assert faces.find_faces(np.full((480, 640, 3), 127, np.uint8)) == []
    noise = np.random.default_rng(1).integers(0, 256, size=(300, 400, 3), dtype=np.uint8)
    assert faces.find_faces(noise) == []


def test_tight_small_face_crop_and_huge_close_up_are_found(shared_data):
    path = shared_data / "faces" / "open" / "cew_Aaron_Guiel_0001.jpg"
    require(path.is_file(), f"CEW face missing: {path}")
    with Image.open(path) as im:
        small = im.convert("RGB")
    found = faces.find_faces(small)  # 100x100, the face fills the frame
    assert len(found) == 1 and all(e.visible for e in found[0].eyes)
    assert found[0].width > 60
    big = small.resize((1800, 1800), Image.Resampling.BICUBIC)  # the same face as a huge close-up
    found_big = faces.find_faces(big)
    assert len(found_big) == 1
    assert found_big[0].width == pytest.approx(found[0].width * 18, rel=0.15)


def test_detector_passes_share_one_reduced_copy_of_a_large_photo(photo_faces):
    rgb, found = photo_faces["hoanganhpham1006_test1.jpg"]
    big = Image.fromarray(rgb).resize((rgb.shape[1] * 3, rgb.shape[0] * 3), Image.Resampling.BICUBIC)
    source = faces._detector_source(big)
    assert source.factor == int(max(big.size) / 2 / 192) > 1
    assert source.pixels.shape[1] == math.ceil(big.width / source.factor)
    # The same faces, in the big photo's pixels, whether it comes as a PIL image or an array.
    from_pil = faces.detect_faces(big)
    assert [d.box.round(1).tolist() for d in faces.detect_faces(np.asarray(big))] == [d.box.round(1).tolist() for d in from_pil]
    assert len(from_pil) == len(found)
    for small, large in zip(found, from_pil):
        assert large.box == pytest.approx(small.detection.box * 3, abs=0.04 * max(big.size))


def _eye_line_angle(face: faces.Face) -> float:
    by_side = {e.side: e for e in face.eyes}
    line = np.subtract(by_side["left"].outer, by_side["right"].outer)
    return math.degrees(math.atan2(line[1], line[0]))


def test_rotated_face_is_still_found_with_the_same_eyes(shared_data):
    rgb = _photo(shared_data, "closed", "hoanganhpham1006_close.jpg")
    upright = faces.find_faces(rgb)[0]
    rotated = Image.fromarray(rgb).rotate(30, expand=True, fillcolor=(128, 128, 128))  # counter-clockwise
    found = faces.find_faces(rotated)
    assert found
    assert _eye_line_angle(found[0]) == pytest.approx(_eye_line_angle(upright) - 30, abs=4)
    assert all(e.visible and e.lid_ratio < 0.2 for e in found[0].eyes)


def test_eye_cut_by_the_frame_is_not_visible(shared_data):
    rgb = _photo(shared_data, "closed", "hoanganhpham1006_close.jpg")
    found = faces.find_faces(rgb[:, :470])  # the frame edge runs through the subject's left eye
    assert found
    by_side = {e.side: e for e in found[0].eyes}
    assert not by_side["left"].visible and by_side["left"].why_not_visible == "eye out of frame"
    assert by_side["right"].visible


def test_warp_affine_identity_edges_and_downscale():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, size=(40, 60, 3), dtype=np.uint8)
    identity = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    assert np.array_equal(faces.warp_affine(img, identity, (60, 40)), img)
    # Outside the image: edge pixels repeated, or the fill value.
    shifted = np.array([[1.0, 0, -10], [0, 1.0, 0]])
    out = faces.warp_affine(img, shifted, (20, 40), border="edge")
    assert np.array_equal(out[:, 0], img[:, 0]) and np.array_equal(out[:, 12], img[:, 2])
    assert not faces.warp_affine(img, shifted, (5, 40), border="constant", fill=0).any()
    # 4x smaller: a 1-px checkerboard averages to grey instead of aliasing to black/white.
    checker = ((np.indices((80, 120)).sum(axis=0) % 2) * 255).astype(np.uint8)
    quarter = faces.warp_affine(checker, np.array([[4.0, 0, 0], [0, 4.0, 0]]), (30, 20))
    assert quarter.shape == (20, 30)
    assert np.abs(quarter[1:-1, 1:-1].astype(int) - 127).max() <= 10  # plain bilinear: 0 or 255


def _synthetic_eye(angle_deg: float) -> tuple[np.ndarray, tuple[float, float], tuple[float, float]]:
    """A dark almond 'eye' 60 px wide at (150, 100), rotated; returns gray image and its corners."""
    img = Image.new("L", (300, 200), 200)
    ImageDraw.Draw(img).ellipse((120, 88, 180, 112), fill=40)
    img = img.rotate(-angle_deg, center=(150, 100), fillcolor=200)  # PIL: positive = counter-clockwise
    a = math.radians(angle_deg)
    ux = np.array([math.cos(a), math.sin(a)])
    centre = np.array([150.0, 100.0])
    return np.asarray(img), tuple(centre - 30 * ux), tuple(centre + 30 * ux)


@pytest.mark.parametrize("angle", [0.0, 25.0, -40.0])
def test_crop_eye_is_level_centred_and_scaled_by_eye_width(angle):
    gray, image_left, image_right = _synthetic_eye(angle)
    crop = eyes.crop_eye(gray, image_left, image_right, side="right")  # subject's right: outer on the image left
    assert crop.shape == (eyes.EYE_CROP_SIZE, eyes.EYE_CROP_SIZE) and crop.dtype == np.uint8
    ys, xs = np.nonzero(crop < 120)
    size = eyes.EYE_CROP_SIZE
    # Centred (up to the calibrated shift), level (wider than tall), 1/CROP_SCALE of the crop wide.
    assert abs(xs.mean() - size / 2 + eyes.CROP_SHIFT_X * size / eyes.CROP_SCALE) < 1.5
    assert abs(ys.mean() - size / 2 + eyes.CROP_SHIFT_Y * size / eyes.CROP_SCALE) < 1.5
    assert (xs.max() - xs.min()) > 2 * (ys.max() - ys.min())
    assert (xs.max() - xs.min() + 1) == pytest.approx(size / eyes.CROP_SCALE, abs=2.5)
    # The subject's left eye gives its corners the other way round: the same, unmirrored crop.
    same = eyes.crop_eye(gray, image_right, image_left, side="left")
    assert np.abs(same.astype(int) - crop.astype(int)).max() <= 1


def test_crop_eye_wants_grayscale():
    with pytest.raises(ValueError, match="grayscale"):
        eyes.crop_eye(np.zeros((50, 50, 3), np.uint8), (10, 25), (40, 25))


def test_crops_match_the_cew_eye_patches(shared_data):
    """Our crops of CEW faces look like CEW's own 24x24 patches of the same eyes (the calibration)."""
    scores = []
    folder = shared_data / "faces" / "open"
    names = sorted(p.name for p in folder.glob("cew_*.jpg"))[::60][:12]
    require(len(names) >= 10, f"CEW faces missing under {folder}")
    for name in names:
        stem = name[len("cew_"):-len(".jpg")]
        with Image.open(folder / name) as im:
            rgb = im.convert("RGB")
        found = faces.find_faces(rgb)
        assert found, name
        gray = np.asarray(rgb.convert("L"))
        for eye in found[0].eyes:
            letter = "L" if eye.side == "left" else "R"  # CEW's _L is the subject's left eye (checked)
            with Image.open(shared_data / "cew" / "eyes" / "open" / f"{stem}_{letter}.jpg") as p:
                patch = np.asarray(p.convert("L"))
            crop = np.asarray(Image.fromarray(eyes.crop_eye(gray, eye.outer, eye.inner, side=eye.side))
                              .resize((24, 24), Image.Resampling.BILINEAR))
            scores.append(eyes.ncc(crop, patch))
    # Calibration measured mean NCC 0.74 on 599 faces (a random other eye: 0.42).
    assert np.mean(scores) > 0.62
