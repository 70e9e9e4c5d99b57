"""The bursts step: runs of consecutive near-identical frames, and the best frame of each.

Frames are taken in capture order (the stored capture time, sub-seconds included, when every frame has one;
else upload order). A frame joins the burst of the frame before it when (1) the time gap is short (skipped
without times), (2) the whole frame looks alike (thumbnail correlation, which shrugs off exposure), and (3)
the main subject is the same person in about the same pose (face crop, tilt, turn, nod, place and size in
the frame) — so a one-backdrop headshot session splits by pose instead of collapsing into one stack. It must
also stay near the burst's first frame, so slow drift does not chain poses together. `sensitivity` (0..1,
0.5 default) scales every tolerance: higher splits more readily.

Best frame: fewest closed eyes, then fewest eyes partly closed for their subject (the subject-eyes step's
usual opening), then sharpest (the focus check's stored sharpness, when present), then the widest-open eyes,
the largest and most central face. Singles stay singles. Context per photo, "burst": {"id", "size", "rank",
"best", "why"} (burst id = its first frame's photo id).
"""
from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Mapping

from ml.detectors.focus import focus_value
from ml.detectors.likeness import likeness, pose_distance, unpack
from ml.detectors.session import Contexts, PhotoDetails
from ml.detectors.subjects import main_face, photo_order
from ml.types import Thresholds
from ml.verdict import RELATIVE_CUT, opening

SENSITIVITY = 0.5
MAX_GAP_S = 4.0  # seconds between frames of one burst, at the default sensitivity
FRAME_TOL = 0.12  # 1 - thumbnail correlation a burst's jitter gives (shifts, zoom, exposure) (bench/bursts)
FACE_TOL = 0.25  # 1 - face crop correlation (expression, blinks, jitter)
ANCHOR_SLACK = 1.6  # the distance to the burst's first frame may be this much more than to the previous one
CLOSED = 0.5  # openness under this (or P(closed) over it): a closed eye for the best-frame order
PARTLY = Thresholds().partly  # closedness from which an eye is partly closed, before a subject's usual is known


class _Frame:
    """One photo's stored burst details, unpacked once."""

    def __init__(self, photo_id: Any, details: Mapping[str, Any], focus: Mapping[str, Any] | None,
                 subjects: list | None, usual: list | None):
        self.photo_id = photo_id
        frame = details.get("frame") or {}
        self.thumb = unpack(frame["thumb"]) if frame.get("thumb") else None
        taken = details.get("taken_at")
        self.time = datetime.fromisoformat(taken) if taken else None
        faces = details.get("faces") or []
        self.main = main_face(faces)
        face = faces[self.main] if self.main is not None else {}
        self.pose = face.get("pose")
        self.crop = unpack(face["crop"]) if face.get("crop") else None
        self.subject = subjects[self.main] if subjects and self.main is not None else None
        self.size = float((self.pose or {}).get("size", 0.0))
        self.offcentre = math.hypot(self.pose["cx"] - 0.5, self.pose["cy"] - 0.45) if self.pose else 0.0
        value = focus_value(focus) if focus else None
        self.blur = float(value[0]) if value else None
        self.closed, self.partly, self.open_share = 0, 0, 1.0
        for i, f in enumerate(faces):
            if not f.get("is_subject", True):
                continue
            ref = ((usual[i] or {}).get("usual") or {}) if usual and i < len(usual) else {}
            for eye in f.get("eyes") or []:
                if not eye.get("visible"):
                    continue
                if eye["openness"] < CLOSED or eye.get("p_closed", 0.0) >= CLOSED:
                    self.closed += 1
                    continue
                if ref.get(eye["side"]):
                    share = opening(eye) / ref[eye["side"]]
                    self.partly += share < RELATIVE_CUT
                else:  # no usual opening yet: the photo-alone partly-closed cut
                    share = eye["openness"]
                    self.partly += 1.0 - share >= PARTLY
                self.open_share = min(self.open_share, share)


def distance(a: _Frame, b: _Frame) -> float:
    """How unlike two frames are, in tolerances (<= 1: what one burst's frames differ by)."""
    parts = []
    if a.thumb is not None and b.thumb is not None:
        parts.append((1.0 - likeness(a.thumb, b.thumb)) / FRAME_TOL)
    if (a.main is None) != (b.main is None) or a.subject != b.subject:
        return math.inf  # a face came or went, or another person
    if a.pose and b.pose:
        parts.append(pose_distance(a.pose, b.pose))
    if a.crop is not None and b.crop is not None:
        parts.append((1.0 - likeness(a.crop, b.crop)) / FACE_TOL)
    return max(parts) if parts else math.inf


def _tolerance(sensitivity: float) -> float:
    """1 at 0.5; 2 at 0 (loose stacks) .. 0.5 at 1 (near-identical frames only)."""
    return 2.0 ** (1.0 - 2.0 * min(1.0, max(0.0, float(sensitivity))))


def group(frames: list[_Frame], sensitivity: float = SENSITIVITY) -> list[list[_Frame]]:
    """Consecutive frames in bursts (singles are bursts of one), in the order given."""
    tol = _tolerance(sensitivity)
    runs: list[list[_Frame]] = []
    for frame in frames:
        if runs:
            run, prev = runs[-1], runs[-1][-1]
            gap_ok = (frame.time is None or prev.time is None
                      or abs((frame.time - prev.time).total_seconds()) <= MAX_GAP_S * tol)
            if gap_ok and distance(prev, frame) <= tol and distance(run[0], frame) <= tol * ANCHOR_SLACK:
                run.append(frame)
                continue
        runs.append([frame])
    return runs


def _order_key(frame: _Frame) -> tuple:
    sharp = -math.log(max(frame.blur, 1e-3)) if frame.blur is not None else 0.0
    # Sharpness in steps of ~15 %: smaller differences are noise, and openness and framing decide.
    return (frame.closed, frame.partly, -round(sharp / math.log(1.15)), -round(frame.open_share, 1),
            -frame.size + frame.offcentre)


def rank(run: list[_Frame]) -> tuple[list[_Frame], str]:
    """The burst's frames best first (ties: earlier first), and why the best is best."""
    ordered = sorted(run, key=_order_key)  # stable: the earlier frame wins a tie
    best = ordered[0]
    reasons = []
    if best.closed == 0 and best.partly == 0:
        reasons.append("eyes open")
    elif (best.closed, best.partly) < max((f.closed, f.partly) for f in run):
        reasons.append("fewest eyes closed")
    # Sharpest among the frames whose eyes are as good: a sharper blink is no rival.
    blurs = [f.blur for f in run if f.blur is not None and (f.closed, f.partly) == (best.closed, best.partly)]
    if best.blur is not None and len(blurs) > 1 and best.blur <= min(blurs):
        reasons.append("sharpest eyes")
    sizes = [f.size for f in run]
    if len(reasons) < 2 and best.size >= max(sizes) > min(sizes) * 1.05:
        reasons.append("largest face")
    if not reasons:
        reasons.append("first of equal frames")
    return ordered, f"best of {len(run)}: " + ", ".join(reasons)


def session_frames(photos: Mapping[Any, PhotoDetails], contexts: Contexts) -> list[_Frame]:
    """Every photo with burst details, unpacked, in capture order (upload order when a time is missing)."""
    frames = []
    for photo_id in photo_order(photos):
        by_check = photos[photo_id]
        if not by_check.get("burst"):
            continue
        ctx = contexts.get(photo_id, {})
        frames.append(_Frame(photo_id, by_check["burst"], by_check.get("focus"),
                             (ctx.get("burst") or {}).get("subjects"), (ctx.get("blink") or {}).get("faces")))
    if frames and all(f.time is not None for f in frames):
        try:
            frames.sort(key=lambda f: f.time)  # stable: upload order within one timestamp
        except TypeError:  # aware and naive times mixed: upload order
            pass
    return frames


def bursts(photos: Mapping[Any, PhotoDetails], contexts: Contexts | None = None,
           sensitivity: float = SENSITIVITY, names: Mapping[Any, str] | None = None) -> Contexts:
    """photo id -> {"burst": {"id", "size", "rank", "best", "why"}} for every photo with burst details;
    with `names` (photo id -> file name) also "best_name", so an alternate names its best frame."""
    out: Contexts = {}
    for run in group(session_frames(photos, contexts or {}), sensitivity):
        ordered, why = rank(run) if len(run) > 1 else (run, "a single frame")
        for position, frame in enumerate(ordered, start=1):
            burst = {"id": run[0].photo_id, "size": len(run), "rank": position, "best": ordered[0].photo_id,
                     "why": why}
            if names:
                burst["best_name"] = names.get(ordered[0].photo_id, "")
            out[frame.photo_id] = {"burst": burst}
    return out


class BurstsStep:
    key = "bursts"

    def __init__(self, sensitivity: float = SENSITIVITY, names: Mapping[Any, str] | None = None):
        self.sensitivity = sensitivity
        self.names = names

    def run(self, photos: Mapping[Any, PhotoDetails], contexts: Contexts) -> Contexts:
        return bursts(photos, contexts, self.sensitivity, self.names)

    def configured(self, strictness: Mapping[str, float], names: Mapping[Any, str] | None = None) -> "BurstsStep":
        """The burst check's own slider is the session's sensitivity (stricter: splits more readily); the
        photos' file names let an alternate name its best frame."""
        return BurstsStep(float(strictness.get("burst", self.sensitivity)), names)


BURSTS = BurstsStep()
