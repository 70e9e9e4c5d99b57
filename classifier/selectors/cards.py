"""What the review screen and the exports get: the group keys and labels, and the card objects
(a photo's card, its faces and their eyes, with the eye summaries the cards and the CSV show)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sessions_app.models import Photo

from ..models import Correction, Verdict

GROUP_BLINKING = "blinking"
GROUP_NOT_BLINKING = "not_blinking"
GROUP_NO_FACE = "no_face"  # effective NO_FACE and unreadable (failed) photos
GROUP_KEYS = (GROUP_BLINKING, GROUP_NOT_BLINKING, GROUP_NO_FACE)
GROUP_TITLES = {
    GROUP_BLINKING: "Blinking",
    GROUP_NOT_BLINKING: "Not blinking",
    GROUP_NO_FACE: "No face / unreadable",
}
_VERDICT_GROUP = {
    Verdict.BLINKING.value: GROUP_BLINKING,
    Verdict.NOT_BLINKING.value: GROUP_NOT_BLINKING,
    Verdict.NO_FACE.value: GROUP_NO_FACE,
}

FACES_SHOWN = 3  # faces a review card shows before folding the rest away

VERDICT_LABELS = dict(Verdict.choices)  # ml's labels, through the model choices made from them

EYE_STATE_LABELS = {
    "open": "open",
    "partly_closed": "partly closed",
    "closed": "closed",
    "not_visible": "not visible",
}


def counts_of(outcomes: Iterable["PhotoCard"], pending: int) -> dict[str, int]:
    """Group counts: blinking, not_blinking, no_face (effective NO_FACE only), unreadable, pending, and
    no_face_group (what the review's third group holds: no face and unreadable together)."""
    groups = dict.fromkeys(GROUP_KEYS, 0)
    unreadable = 0
    for o in outcomes:
        groups[o.group] += 1
        unreadable += o.unreadable
    return {**groups, GROUP_NO_FACE: groups[GROUP_NO_FACE] - unreadable, "unreadable": unreadable,
            "pending": pending, "no_face_group": groups[GROUP_NO_FACE]}



# --- What the review screen and the exports get ------------------------------------------------------


@dataclass(frozen=True)
class EyeCard:
    side: str  # "left" / "right": the subject's own
    state: str  # at the session's strictness: open / partly_closed / closed / not_visible
    p_closed: float
    openness: float | None
    box: dict | None  # fractions of the oriented image: x0, y0, x1, y1
    has_crop: bool

    @property
    def state_label(self) -> str:
        return EYE_STATE_LABELS.get(self.state, self.state)

    @property
    def state_percent(self) -> int | None:
        """How strongly the state word holds, on the scale `state_scale` names (None when not visible).

        One convention everywhere (card chips, face strip, lightbox, CSV summary): a closed or partly
        closed eye shows P(closed), the number in the reason sentence; an open eye shows its openness.
        So "closed 71%" and "left eye closed (0.71)" are the same number, never 29% beside 0.71.
        """
        if self.state == "not_visible":
            return None
        if self.state in ("closed", "partly_closed"):
            return round(100 * self.p_closed)
        openness = self.openness if self.openness is not None else 1.0 - self.p_closed
        return round(100 * openness)

    @property
    def state_scale(self) -> str:
        """What `state_percent` measures: "P(closed)" or "openness"."""
        return "P(closed)" if self.state in ("closed", "partly_closed") else "openness"

    @property
    def summary(self) -> str:
        """'closed 71%' / 'open 96%' / 'not visible': the state word and its number."""
        percent = self.state_percent
        return self.state_label if percent is None else f"{self.state_label} {percent}%"


@dataclass(frozen=True)
class FaceCard:
    index: int
    box: dict | None
    is_subject: bool
    eyes: tuple[EyeCard, ...]
    machine_label: str  # Verdict value: how the machine judges this face alone
    label: str  # effective label of this face
    correction: Correction | None  # the face's active correction, if any

    @property
    def corrected(self) -> bool:
        return self.correction is not None

    @property
    def box_style(self) -> str:
        """CSS placing the face's box over the photo (percentages), '' when unknown."""
        try:
            x0, y0, x1, y1 = (float(self.box[k]) for k in ("x0", "y0", "x1", "y1"))
        except (TypeError, KeyError, ValueError):
            return ""
        return f"left:{100 * x0:.2f}%;top:{100 * y0:.2f}%;width:{100 * (x1 - x0):.2f}%;height:{100 * (y1 - y0):.2f}%"

    @property
    def is_blinking(self) -> bool:
        return self.label == Verdict.BLINKING


@dataclass(frozen=True)
class PhotoCard:
    photo: Photo
    group: str  # one of GROUP_KEYS
    verdict: str | None  # effective Verdict value; None for an unreadable photo
    machine_verdict: str | None  # the live prediction judged at the strictness
    confidence: float | None  # the machine's, 0.5-1
    reason: str  # the machine's sentence, or why the file couldn't be read
    faces: tuple[FaceCard, ...] = ()
    correction: Correction | None = None  # the correction that decided `verdict` (photo- or face-level)
    model_version_id: int | None = None

    @property
    def unreadable(self) -> bool:
        return self.verdict is None

    @property
    def corrected(self) -> bool:
        """A person decided this photo's label (it may agree with the machine)."""
        return self.correction is not None

    @property
    def changed(self) -> bool:
        """The photographer's label differs from the machine's."""
        return self.corrected and self.verdict != self.machine_verdict

    @property
    def corrected_by(self):
        return self.correction.created_by if self.correction is not None else None

    @property
    def has_several_faces(self) -> bool:
        return len(self.faces) > 1

    @property
    def faces_ranked(self) -> list[FaceCard]:
        """Blinking faces first, then subjects, then background faces (each in detection order)."""
        return sorted(self.faces, key=lambda f: (not f.is_blinking, not f.is_subject, f.index))

    @property
    def faces_shown(self) -> list[FaceCard]:
        """What the card shows at once; a 16-face group photo keeps the rest behind 'more faces'."""
        return self.faces_ranked[:FACES_SHOWN]

    @property
    def faces_more(self) -> list[FaceCard]:
        return self.faces_ranked[FACES_SHOWN:]

    @property
    def verdict_label(self) -> str:
        return "Unreadable" if self.verdict is None else VERDICT_LABELS.get(self.verdict, self.verdict)

    @property
    def machine_label(self) -> str:
        return VERDICT_LABELS.get(self.machine_verdict or "", "—")

    @property
    def css_key(self) -> str:
        """blinking / not_blinking / no_face / unreadable: what the card's colour says."""
        return "unreadable" if self.verdict is None else _VERDICT_GROUP.get(self.verdict, GROUP_NO_FACE)

    @property
    def confidence_percent(self) -> int | None:
        return None if self.confidence is None else round(100 * self.confidence)

    @property
    def is_keeper(self) -> bool:
        """Exported as a keeper: judged and not blinking (a face-less detail shot is a keeper too)."""
        return self.verdict is not None and self.verdict != Verdict.BLINKING
