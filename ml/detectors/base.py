"""What a check is and what judging it gives: the types every detector and every reader share.

A detector analyses once (in the photo task) and judges many times (each strictness, each review page):
`analyse(subject) -> details` stores JSON with the detector's schema version; `judge(details, strictness,
context) -> Finding` is pure and cheap. `context` is what the session step knows about this photo for this
check (say, the subject's usual eye opening): a session-relative judgement needs no re-analysis.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, Mapping, Protocol, runtime_checkable

if TYPE_CHECKING:
    from ml.imaging import DecodedImage
    from ml.types import PhotoAnalysis


class Level(str, Enum):
    """What a check looks at, and so where a photographer can correct it."""

    PHOTO = "photo"
    FACE = "face"
    EYE = "eye"


@dataclass(frozen=True)
class Words:
    """Everything a photographer reads about one check, in one place (review, exports, galleries read it).

    `flagged`/`clear`: a photo's state ("Blinking" / "Eyes open"); `group`: the review group of its
    flagged photos; `not_flag`/`flag`: the correction buttons; `key`/`clear_key`: their keyboard keys
    (lower case; the review's key table is built from these); `keyword`: the XMP keyword (hierarchical,
    "|" separated) and `label`: the default XMP label on flagged photos; `folder`: see below.
    """

    flagged: str
    clear: str
    group: str
    flag: str
    not_flag: str
    key: str
    clear_key: str
    keyword: str
    label: str
    folder: str = ""  # the folders ZIP's folder for photos this check rejects ("" = the key in capitals)


@dataclass(frozen=True)
class Subject:
    """What every detector's `analyse` gets: the decoded photo and the shared face stage's result."""

    analysis: "PhotoAnalysis"  # faces and eyes (ml.analyse)
    image: "DecodedImage | None" = None  # the working image, when a detector needs pixels


@dataclass(frozen=True)
class FaceFinding:
    index: int  # the face's position in the stored analysis
    is_subject: bool  # False: a background face, which never decides on its own
    flagged: bool  # this face alone


@dataclass(frozen=True)
class Finding:
    """One check's judgement of one photo at one strictness.

    `applies`: False when there is nothing for the check to judge (no face for a face check); the photo
    then goes by its other checks (or to "no face / unreadable" when none applies). `score`: the check's
    own measure, higher = more flagged (blink: the most closed subject eye's closedness). `confidence`:
    0.5-1, calibrated where the check has a calibrated model, else None. `face_index`: the subject face
    that decided (the "main face" everywhere), or None.
    """

    key: str
    applies: bool
    flagged: bool
    score: float
    sentence: str  # one sentence a photographer understands
    confidence: float | None = None
    check_reasons: tuple[str, ...] = ()  # why a person should look; () = the check is sure
    face_index: int | None = None
    faces: tuple[FaceFinding, ...] = field(default=())
    # Extra XMP keywords this finding gives the photo whatever its flag ("Eye Spy|burst|IMG_0012"): exports
    # write them beside the flag's own keyword, so a check says more without the exports knowing it.
    keywords: tuple[str, ...] = ()

    @property
    def needs_check(self) -> bool:
        return self.applies and bool(self.check_reasons)


@runtime_checkable
class Detector(Protocol):
    key: str  # stable: stored with corrections, used in URLs, CSV columns and XMP keywords
    title: str
    level: Level
    rejects: bool  # True: its flag makes the photo a reject; False: a note that moves nothing
    schema: int  # version of what `analyse` returns
    words: Words

    def analyse(self, subject: Subject) -> dict[str, Any]:
        """JSON-serialisable details, with "schema" set to `self.schema`."""

    def judge(self, details: Mapping[str, Any], strictness: float = 0.5,
              context: Mapping[str, Any] | None = None) -> Finding:
        """Pure: the finding at this strictness (0 lenient .. 1 strict; 0.5 = the default)."""
