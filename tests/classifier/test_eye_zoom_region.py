"""eyes_region: the 100% close-up frames the eyes, never a thin strip, never the nose of a soft face."""
from __future__ import annotations

import pytest

from classifier.services.eye_zoom import MIN_HEIGHT_RATIO, ZoomUnavailable, eyes_region


def _eye(x0, y0, x1, y1):
    return {"box": {"x0": x0, "y0": y0, "x1": x1, "y1": y1}}


def _pixels(region, width, height):
    x0, y0, x1, y1 = region
    return (x1 - x0) * width, (y1 - y0) * height


def test_a_small_group_face_gives_a_crop_tall_enough_to_read():
    # A 6000x4000 group photo: a small face whose eyes are 90 px wide and 12 px tall together.
    face = {"box": {"x0": 0.500, "y0": 0.500, "x1": 0.520, "y1": 0.530},
            "eyes": [_eye(0.5020, 0.5100, 0.5080, 0.5130), _eye(0.5110, 0.5100, 0.5170, 0.5130)]}
    w, h = _pixels(eyes_region(face, aspect=1.5), 6000, 4000)
    assert h / w >= MIN_HEIGHT_RATIO - 0.01  # the old framing gave about 1:4.5, a dark bar once scaled


def test_eyes_placed_on_the_lower_face_are_not_trusted():
    # Landmarks of a soft face put the "eyes" at 75% of the face box's height: nose and mouth.
    face = {"box": {"x0": 0.4, "y0": 0.4, "x1": 0.6, "y1": 0.7},
            "eyes": [_eye(0.42, 0.61, 0.48, 0.64), _eye(0.52, 0.61, 0.58, 0.64)]}
    x0, y0, x1, y1 = eyes_region(face, aspect=1.5)
    assert y1 < 0.61  # the crop ends above where the bad eye boxes begin
    assert y0 < 0.4 + 0.3 * 0.5 < y1  # it covers the upper half of the face box, where eyes are


def test_a_tight_box_on_the_lower_face_looks_above_it():
    # A box much wider than tall in pixels (200x80 px in a 3:2 photo) and no eyes found: the box sat on
    # the lower face, so the eyes are at or above its top edge.
    face = {"box": {"x0": 0.40, "y0": 0.50, "x1": 0.40 + 200 / 3000, "y1": 0.50 + 80 / 2000}, "eyes": []}
    x0, y0, x1, y1 = eyes_region(face, aspect=1.5)
    assert y0 < 0.50 and (y0 + y1) / 2 <= 0.505


def test_a_normal_face_keeps_its_eye_framing():
    face = {"box": {"x0": 0.3, "y0": 0.2, "x1": 0.7, "y1": 0.7},
            "eyes": [_eye(0.40, 0.30, 0.48, 0.36), _eye(0.52, 0.30, 0.60, 0.36)]}
    x0, y0, x1, y1 = eyes_region(face, aspect=1.5)
    assert x0 < 0.40 and x1 > 0.60 and y0 < 0.30 and y1 > 0.36 and y1 < 0.5  # around the eyes, above the mouth


def test_a_face_without_a_position_has_no_zoom():
    with pytest.raises(ZoomUnavailable):
        eyes_region({"eyes": []})
