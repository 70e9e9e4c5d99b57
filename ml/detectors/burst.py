"""The burst check ("burst"): a note, never a reject — this frame is an alternate of a burst whose best is another.

`analyse` stores what the session steps compare without pixels (ml.detectors.likeness): the frame's thumbnail
and dHash, the capture time (with sub-seconds when the file has them), and per face its aligned crop, pose
numbers and each eye's openness as the eye stage measured it. The steps (ml.detectors.subjects,
subject_eyes, bursts) turn a session of these into subjects, each subject's usual eyes, bursts and their best
frame; `judge` only reads the burst context they give. Non-best frames are alternates, not rejects: peers that
demoted burst losers over-culled.
"""
from __future__ import annotations

from typing import Any, Mapping

from ml.detectors import likeness
from ml.detectors.base import Finding, Level, Subject, Words
from ml.types import EyeState

MIN_FACE_PX = 40  # narrower faces (original px) get no crop: too few pixels to tell who it is


def _eyes(face: Any) -> list[dict[str, Any]]:
    return [{"side": e.side, "visible": e.state is not EyeState.NOT_VISIBLE,
             "openness": round(float(e.openness), 4), "p_closed": round(float(e.p_closed), 4),
             "lid_ratio": e.lid_ratio} for e in face.eyes]


class BurstDetector:
    key = "burst"
    title = "Bursts"
    level = Level.PHOTO
    rejects = False
    schema = 1
    words = Words(flagged="Alternate", clear="Best of burst", group="Burst alternates", flag="Alternate",
                  not_flag="Best of burst", key="d", clear_key="o", keyword="Eye Spy|burst alternate",
                  label="", folder="ALTERNATES")

    def analyse(self, subject: Subject) -> dict[str, Any]:
        analysis, image = subject.analysis, subject.image
        taken = getattr(image, "taken_at", None)
        pil = getattr(image, "image", None)
        faces = []
        for face in analysis.faces:
            crop = None
            if pil is not None and face.size_px >= MIN_FACE_PX:
                crop = likeness.face_crop(pil, face, analysis.width, analysis.height)
            faces.append({"is_subject": face.is_subject, "size_px": face.size_px,
                          "pose": likeness.face_pose(face, analysis.width, analysis.height),
                          "crop": crop, "eyes": _eyes(face)})
        return {"schema": self.schema, "taken_at": taken.isoformat() if taken else None,
                "frame": likeness.frame_descriptor(pil) if pil is not None else None, "faces": faces}

    def judge(self, details: Mapping[str, Any], strictness: float = 0.5,
              context: Mapping[str, Any] | None = None) -> Finding:
        burst = context or {}  # this check's context: the bursts step's {"id", "size", "rank", "best", "why"}
        if "size" not in burst:
            return Finding(key=self.key, applies=False, flagged=False, score=0.0,
                           sentence="not grouped into bursts yet")
        size, rank = int(burst["size"]), int(burst["rank"])
        if size <= 1:
            return Finding(key=self.key, applies=True, flagged=False, score=0.0, sentence="a single frame, no burst")
        best = burst.get("best_name") or f"photo {burst['best']}"
        stack = f"Eye Spy|burst|{best}"  # every frame of the burst, so an editor can stack or filter them
        if rank == 1:
            return Finding(key=self.key, applies=True, flagged=False, score=0.0, sentence=burst["why"],
                           keywords=(stack, "Eye Spy|best of burst"))
        return Finding(key=self.key, applies=True, flagged=True, score=round(1 - 1 / rank, 4),
                       sentence=f"burst of {size}: frame ranked {rank}, best is {best}", keywords=(stack,))


BURST = BurstDetector()
