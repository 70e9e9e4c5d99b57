"""The typed vocabulary of ml/: what analyse() returns and what the rest of Eye Spy stores.

Everything here is a frozen dataclass or a str-Enum so results can be compared, hashed,
and turned into JSON (see `PhotoAnalysis.to_dict`) without Django.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum


class Verdict(str, Enum):
    BLINKING = "BLINKING"
    NOT_BLINKING = "NOT_BLINKING"
    NO_FACE = "NO_FACE"


class EyeState(str, Enum):
    OPEN = "open"
    PARTLY_CLOSED = "partly_closed"
    CLOSED = "closed"
    NOT_VISIBLE = "not_visible"


@dataclass(frozen=True)
class Box:
    """A rectangle in fractions (0-1) of the oriented image, so it fits thumbnail and preview alike."""

    x0: float
    y0: float
    x1: float
    y1: float


@dataclass(frozen=True)
class Thresholds:
    """How strict the verdict is. `closed` and `partly` are P(closed) cut-offs for one eye.

    A photo is BLINKING when an eye of a subject face reaches `closed`, or, with
    `partly_counts` on, reaches `partly`.
    """

    closed: float = 0.5
    partly: float = 0.3
    partly_counts: bool = False
    # Faces smaller than this fraction of the largest face's width are background faces.
    min_face_fraction: float = 0.5

    @classmethod
    def from_strictness(cls, strictness: float) -> "Thresholds":
        """Map a 0-1 slider (0 = lenient, 1 = strict) to thresholds; 0.5 gives the defaults."""
        s = min(1.0, max(0.0, float(strictness)))
        closed = 0.8 - 0.6 * s  # 0.8 .. 0.2; 0.5 at s = 0.5
        return cls(closed=round(closed, 3), partly=round(closed * 0.6, 3), partly_counts=s >= 0.75)


@dataclass(frozen=True)
class EyeResult:
    side: str  # "left" / "right": the subject's own left and right
    state: EyeState
    p_closed: float  # 0-1 from the CNN (NaN-free; 0.0 when not visible)
    openness: float  # 0-1, 1 = wide open; what the UI shows
    box: Box  # where the eye crop came from, in image fractions
    lid_ratio: float | None = None  # lid contour height / width from the iris model, when measured
    crop: bytes | None = field(default=None, compare=False, repr=False)  # small grayscale PNG for the review UI


@dataclass(frozen=True)
class FaceResult:
    box: Box
    score: float  # detector confidence
    size_px: int  # face width in pixels of the original image
    is_subject: bool  # False for small background faces, which never decide the verdict
    eyes: tuple[EyeResult, ...]


@dataclass(frozen=True)
class PhotoAnalysis:
    verdict: Verdict
    confidence: float  # 0.5-1: how sure the verdict is
    reason: str  # one sentence a photographer understands
    faces: tuple[FaceResult, ...]
    width: int  # oriented size of the original photo
    height: int
    timings_ms: dict[str, float] = field(default_factory=dict, compare=False)

    def to_dict(self, *, with_crops: bool = False) -> dict:
        """JSON-ready form (enums as values, crops dropped unless asked for)."""
        data = asdict(self)
        data["verdict"] = self.verdict.value
        for face in data["faces"]:
            for eye in face["eyes"]:
                eye["state"] = EyeState(eye["state"]).value
                if not with_crops:
                    eye.pop("crop", None)
        return data
