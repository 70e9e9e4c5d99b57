"""The typed vocabulary of ml/: what analyse() returns and what the rest of Eye Spy stores.

Everything here is a frozen dataclass or a str-Enum so results can be compared, hashed,
and turned into JSON (see `PhotoAnalysis.to_dict`) without Django.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any, Mapping


class Verdict(str, Enum):
    BLINKING = "BLINKING"
    NOT_BLINKING = "NOT_BLINKING"
    NO_FACE = "NO_FACE"

    @property
    def label(self) -> str:
        """What a photographer reads ("Not blinking"); the web app's choices use it too."""
        return self.value.replace("_", " ").capitalize()


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


def clamp_strictness(value: float) -> float:
    """A strictness slider's value as every check reads it: a float in 0 (lenient) .. 1 (strict)."""
    return min(1.0, max(0.0, float(value)))


@dataclass(frozen=True)
class Thresholds:
    """How strict the verdict is. `closed` and `partly` are cut-offs on an eye's closedness, 1 - openness.

    A photo is BLINKING when an eye of a subject face reaches `closed`, or, with `partly_counts`
    on, reaches `partly`. (For analyses stored before schema 3, openness was 1 - P(closed), so
    the same cut-offs read them exactly as before.) The openness scale is fitted so that the
    defaults are the cross-validated operating point (ml/openness.py, MODEL_CARD.md).
    """

    closed: float = 0.5
    partly: float = 0.3
    partly_counts: bool = False
    # Faces smaller than this fraction of the largest face's width are background faces.
    min_face_fraction: float = 0.5
    strictness: float = 0.5  # the slider these came from (the session's own-eyes rule reads it)

    @classmethod
    def from_strictness(cls, strictness: float) -> "Thresholds":
        """Map a 0-1 slider (0 = lenient, 1 = strict) to thresholds; 0.5 gives the defaults."""
        s = clamp_strictness(strictness)
        closed = 0.8 - 0.6 * s  # 0.8 .. 0.2; 0.5 at s = 0.5
        return cls(closed=round(closed, 3), partly=round(closed * 0.6, 3), partly_counts=s >= 0.75, strictness=s)


@dataclass(frozen=True)
class EyeResult:
    side: str  # "left" / "right": the subject's own left and right
    state: EyeState
    p_closed: float  # 0-1 calibrated P(closed) from the CNN (0.0 when not visible)
    openness: float  # 0-1, 1 = wide open: lid aperture fused with the CNN (ml.openness); states come from it
    box: Box  # where the eye crop came from, in image fractions
    lid_ratio: float | None = None  # lid contour height / width from the iris model, when measured
    crop: bytes | None = field(default=None, compare=False, repr=False)  # small grayscale PNG for the review UI
    width_px: float | None = None  # eye width in pixels of real detail (original photo, or analysed if smaller)


@dataclass(frozen=True)
class FaceResult:
    box: Box
    score: float  # detector confidence
    size_px: int  # face width in pixels of the original image
    is_subject: bool  # False for small background faces, which never decide the verdict
    eyes: tuple[EyeResult, ...]
    presence: float | None = None  # the landmark model's face-presence score, when measured


@dataclass(frozen=True)
class PhotoAnalysis:
    verdict: Verdict
    confidence: float  # 0.5-1: how sure the verdict is
    reason: str  # one sentence a photographer understands
    faces: tuple[FaceResult, ...]
    width: int  # oriented size of the original photo
    height: int
    timings_ms: dict[str, float] = field(default_factory=dict, compare=False)
    # The "check these" group: the verdict is uncertain (ml.verdict.check_reasons says why).
    needs_check: bool = False
    check_reasons: tuple[str, ...] = ()

    def to_dict(self, *, with_crops: bool = False) -> dict:
        """The stored form: JSON-ready (enums as values, crops dropped unless asked for), with `schema`.

        Callers may add their own keys beside ours (the web app adds `crop_name` to eyes, `model` and
        timings to the top); `from_dict` ignores keys it doesn't know.
        """
        data = asdict(self)
        data["schema"] = SCHEMA_VERSION
        data["verdict"] = self.verdict.value
        data["check_reasons"] = list(self.check_reasons)
        for face in data["faces"]:
            for eye in face["eyes"]:
                eye["state"] = EyeState(eye["state"]).value
                if not with_crops:
                    eye.pop("crop", None)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "PhotoAnalysis":
        """Read what `to_dict` wrote, in this or any older schema. Raises ValueError on data it can't read.

        Schema 1 (before the version key existed) may lack `size_px`, `score`, `is_subject`, `lid_ratio`
        and the photo size; they get neutral defaults (sizes 0 mean "unknown": judging then falls back
        to the stored subject flags). Schemas 1-2 lack `width_px`, `presence`, `needs_check` and
        `check_reasons` (None / False / ()); their openness is 1 - P(closed), which judges as before.
        """
        if not isinstance(data, Mapping):
            raise ValueError("a stored analysis is a JSON object")
        schema = int(data.get("schema", 1) or 1)
        if schema > SCHEMA_VERSION:
            raise ValueError(f"stored analysis has schema {schema}; this code reads up to {SCHEMA_VERSION}")
        try:
            faces = tuple(_face_from_dict(f) for f in data.get("faces") or () if isinstance(f, Mapping))
            return cls(
                verdict=Verdict(data.get("verdict") or (Verdict.NOT_BLINKING if faces else Verdict.NO_FACE)),
                confidence=float(data.get("confidence", 0.5)),
                reason=str(data.get("reason", "")),
                faces=faces,
                width=int(data.get("width") or 0),
                height=int(data.get("height") or 0),
                timings_ms=dict(data.get("timings_ms") or {}),
                needs_check=bool(data.get("needs_check", False)),
                check_reasons=tuple(str(r) for r in data.get("check_reasons") or ()),
            )
        except (TypeError, KeyError) as exc:
            raise ValueError(f"unreadable stored analysis: {exc}") from exc


# Version of PhotoAnalysis.to_dict(). 1: no "schema" key (stored before it existed). 2: "schema" added.
# 3: calibrated p_closed, fused openness (states come from it), eye width_px, face presence,
#    needs_check + check_reasons.
SCHEMA_VERSION = 3


def _opt_float(value: Any) -> float | None:
    return float(value) if value is not None else None


def _box_from_dict(data: Any) -> Box:
    if not isinstance(data, Mapping):
        return Box(0.0, 0.0, 0.0, 0.0)
    return Box(*(float(data.get(k, 0.0)) for k in ("x0", "y0", "x1", "y1")))


def _eye_from_dict(data: Mapping[str, Any]) -> EyeResult:
    p_closed = float(data.get("p_closed") or 0.0)
    openness = data.get("openness")
    lid = data.get("lid_ratio")
    return EyeResult(
        side=str(data.get("side", "")),
        state=EyeState(data.get("state") or EyeState.OPEN),
        p_closed=p_closed,
        openness=float(openness) if openness is not None else 1.0 - p_closed,
        box=_box_from_dict(data.get("box")),
        lid_ratio=float(lid) if lid is not None else None,
        width_px=_opt_float(data.get("width_px")),
    )


def _face_from_dict(data: Mapping[str, Any]) -> FaceResult:
    return FaceResult(
        box=_box_from_dict(data.get("box")),
        score=float(data.get("score") or 0.0),
        size_px=int(data.get("size_px") or 0),
        is_subject=bool(data.get("is_subject", True)),
        eyes=tuple(_eye_from_dict(e) for e in data.get("eyes") or () if isinstance(e, Mapping)),
        presence=_opt_float(data.get("presence")),
    )
