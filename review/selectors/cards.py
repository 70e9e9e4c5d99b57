"""What the review screen and the exports get: the group keys and labels, and the card objects
(a photo's card, its faces and their eyes, with the eye summaries the cards and the CSV show)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from classifier import selectors as classifier_selectors
from classifier import services as classifier_services
from classifier.models import Correction, Verdict
from classifier.selectors import EYES
from sessions_app.models import Photo

from .. import outcome
from ..outcome import PhotoOutcome

GROUP_CHECK = "check"  # the machine's verdict is uncertain and nobody has decided the photo yet
GROUP_BLINKING = "blinking"
GROUP_NOT_BLINKING = "not_blinking"
GROUP_NO_FACE = "no_face"  # effective NO_FACE and unreadable (failed) photos
# The review page's order (and the lightbox's walk): the photos that need a person first.
GROUP_KEYS = (GROUP_CHECK, GROUP_BLINKING, GROUP_NOT_BLINKING, GROUP_NO_FACE)
GROUP_TITLES = {
    GROUP_CHECK: "Check these",
    GROUP_BLINKING: "Rejects",
    GROUP_NOT_BLINKING: "Keepers",
    GROUP_NO_FACE: "No face / unreadable",
}
# A photo's outcome (review.outcome) decides its group; the keys stay as the page's anchors and CSS know them.
GROUP_OF_OUTCOME = {outcome.CHECK: GROUP_CHECK, outcome.REJECT: GROUP_BLINKING, outcome.KEEPER: GROUP_NOT_BLINKING,
                    outcome.NO_FACE: GROUP_NO_FACE, outcome.UNREADABLE: GROUP_NO_FACE}
WHOLE_PHOTO_WORDS = {"keep": "keep anyway", "reject": "reject", "no_face": "no face"}
# Number keys in the review (review.js): 1-3 kept their meaning when the check group came, so it is 4.
GROUP_SHORTCUTS = {GROUP_BLINKING: "1", GROUP_NOT_BLINKING: "2", GROUP_NO_FACE: "3", GROUP_CHECK: "4"}
_VERDICT_GROUP = {
    Verdict.BLINKING.value: GROUP_BLINKING,
    Verdict.NOT_BLINKING.value: GROUP_NOT_BLINKING,
    Verdict.NO_FACE.value: GROUP_NO_FACE,
}



def group_of(verdict: str | None, *, to_check: bool) -> str:
    """The review group of an effective verdict (None: unreadable). `to_check`: the label is still the
    machine's and the machine gave reasons to check it (a correction in force has decided the photo)."""
    group = _VERDICT_GROUP.get(verdict or "", GROUP_NO_FACE)
    return GROUP_CHECK if to_check and group != GROUP_NO_FACE else group


FACES_SHOWN = 3  # faces a review card shows before folding the rest away

VERDICT_LABELS = dict(Verdict.choices)  # ml's labels, through the model choices made from them

FACE_WORDS = {Verdict.BLINKING.value: "blinking", Verdict.NOT_BLINKING.value: "fine"}

EYE_STATE_LABELS = {
    "open": "open",
    "partly_closed": "partly closed",
    "closed": "closed",
    "not_visible": "not visible",
}


def counts_of(outcomes: Iterable["PhotoCard"], pending: int) -> dict[str, int]:
    """Group counts: check, blinking, not_blinking, no_face (effective NO_FACE only), unreadable, pending, and
    no_face_group (what the review's third group holds: no face and unreadable together)."""
    groups = dict.fromkeys(GROUP_KEYS, 0)
    unreadable = 0
    for o in outcomes:
        groups[o.group] += 1
        unreadable += o.unreadable
    return {**groups, GROUP_NO_FACE: groups[GROUP_NO_FACE] - unreadable, "unreadable": unreadable,
            "pending": pending, "no_face_group": groups[GROUP_NO_FACE]}



# --- What the review screen and the exports get ------------------------------------------------------


def decided_reason(faces: Iterable["FaceCard"], *, verdict: str) -> str:
    """The reason sentence once the photographer has decided faces: their word on those faces, the
    machine's on the others still blinking. E.g. "face 3: fine, your call (the model read left eye closed
    (1.00)); no other face blinking"."""
    parts = []
    for face in faces:
        if face.corrected:
            part = f"face {face.index + 1}: {face.decision_word}, your call"
            if face.overridden:
                part += f" (the model read {face.machine_words})"
            parts.append(part)
        elif face.is_blinking and face.is_subject:
            parts.append(f"face {face.index + 1}: {face.machine_words}")
    if verdict != Verdict.BLINKING:
        parts.append("no other face blinking" if parts else "no face blinking")
    return "; ".join(parts)


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

        One convention everywhere (card chips, face strip, lightbox, CSV summary), the numbers of the
        reason sentence: a closed eye shows P(closed) ("closed 71%" is "left eye closed (0.71)"); an open or
        partly closed eye shows its openness ("partly closed (35% open)", as the reason says it: how much
        of the eye is still open reads better than a probability for a squint).
        """
        if self.state == "not_visible":
            return None
        if self.state == "closed":
            return round(100 * self.p_closed)
        openness = self.openness if self.openness is not None else 1.0 - self.p_closed
        return round(100 * openness)

    @property
    def state_scale(self) -> str:
        """What `state_percent` measures: "P(closed)" or "openness"."""
        return "P(closed)" if self.state == "closed" else "openness"

    @property
    def percent_text(self) -> str:
        """'71%' / '96%' / '(35% open)' for a partly closed eye (its number says how open, not how closed)."""
        percent = self.state_percent
        if percent is None:
            return ""
        return f"({percent}% open)" if self.state == "partly_closed" else f"{percent}%"

    @property
    def summary(self) -> str:
        """'closed 71%' / 'partly closed (35% open)' / 'open 96%' / 'not visible': the state word and its number."""
        text = self.percent_text
        return f"{self.state_label} {text}" if text else self.state_label


@dataclass(frozen=True)
class FlagAction:
    """The buttons of one check on a card or in the loupe: its own words and keys, from the registry."""

    key: str  # the check's key: the correction's `flag`
    title: str
    flag_words: str  # "Soft"
    clear_words: str  # "Not soft"
    flag_key: str
    clear_key: str
    state: str  # outcome.YES / NO / UNSURE: which button shows as pressed
    decided: bool

    @property
    def flag_decision(self) -> str:
        return f"{self.key}:flagged"

    @property
    def clear_decision(self) -> str:
        return f"{self.key}:clear"


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
    def overridden(self) -> bool:
        """The photographer's label for this face differs from the machine's reading of its eyes."""
        return self.corrected and self.label != self.machine_label

    @property
    def decision_word(self) -> str:
        return FACE_WORDS.get(self.label, self.label.lower())

    @property
    def machine_words(self) -> str:
        """'left eye closed (1.00)' — how the machine read the face's closed or partly closed eyes."""
        eyes = [f"{e.side} eye {e.summary}" if e.state == "partly_closed" else
                f"{e.side} eye {e.state_label} ({e.p_closed:.2f})" for e in self.eyes
                if e.state in ("closed", "partly_closed")]
        return ", ".join(eyes) or "eyes open"

    @property
    def box_rect(self) -> dict | None:
        """The face's box in percent of the photo (x, y, width, height), for an SVG overlay (no style=)."""
        try:
            x0, y0, x1, y1 = (float(self.box[k]) for k in ("x0", "y0", "x1", "y1"))
        except (TypeError, KeyError, ValueError):
            return None
        return {"x": round(100 * x0, 2), "y": round(100 * y0, 2), "w": round(100 * (x1 - x0), 2),
                "h": round(100 * (y1 - y0), 2)}

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
    machine_reason: str = ""  # the machine's own sentence when `reason` tells the photographer's decision
    check_reasons: tuple[str, ...] = ()  # why the machine's verdict needs a look (ml.verdict); kept once decided
    outcome: PhotoOutcome | None = None  # over every check: what `group`, `is_keeper` and the exports go by
    machine_others: tuple = ()  # every other check as the machine alone read it (the counts' cache keeps these)
    main_face_index: int | None = None  # the subject face that decided the eyes (the CSV's per-eye columns)
    session_context: dict = field(default_factory=dict)  # what the session steps said: bursts, subjects

    @property
    def burst(self) -> dict:
        """{"id", "size", "rank", "best", "best_name", "why", "subjects"} from the bursts step, or {}."""
        return self.session_context.get("burst") or {}

    @property
    def flags_in_force(self) -> list[str]:
        """Keys of the checks that flag this photo or are unsure of it (the review's reason filter)."""
        if self.outcome is None:
            return []
        return [f.key for f in self.outcome.flags if f.state in (outcome.YES, outcome.UNSURE)]

    @property
    def burst_size(self) -> int:
        return int(self.burst.get("size") or 0)

    @property
    def burst_id(self) -> str:
        """The burst's id for the page (its first frame's photo id), "" for a single frame."""
        return str(self.burst.get("id", "")) if self.burst_size > 1 else ""

    @property
    def is_burst_best(self) -> bool:
        return self.burst_size > 1 and self.burst.get("rank") == 1

    @property
    def stacked(self) -> bool:
        """Folded under its burst's best frame on the page: an alternate among the keepers that nobody
        decided (a reject or a photo to check always shows: it needs a look)."""
        flag = self.outcome.flag("burst") if self.outcome is not None else None
        return (self.burst_size > 1 and not self.is_burst_best and self.group == GROUP_NOT_BLINKING
                and flag is not None and not flag.decided)

    @property
    def subject_number(self) -> int | None:
        """The session's number of the person who decided this photo (Subject 1 has the most photos)."""
        subjects = self.burst.get("subjects") or []
        index = self.main_face_index if self.main_face_index is not None else 0
        return subjects[index] if index < len(subjects) else None

    @property
    def to_check(self) -> bool:
        """In the "check these" group: the machine is unsure and nobody has decided the photo yet."""
        return self.group == GROUP_CHECK

    @property
    def decided_by_face(self) -> bool:
        return self.correction is not None and self.correction.face_index is not None

    @property
    def faces_decided(self) -> list[FaceCard]:
        return [f for f in self.faces if f.corrected]

    @property
    def badge(self) -> str:
        """The card's human badge: 'corrected' / 'confirmed' for a whole-photo decision, 'face 3: yours'
        when only faces were decided (nothing about the photo as a whole was confirmed)."""
        if not self.corrected:
            return "your call" if self.decided_anything else ""
        if self.whole_photo_call:
            return "your call"
        if self.decided_by_face:
            decided = self.faces_decided
            if len(decided) == 1:
                return f"face {decided[0].index + 1}: yours"
            return f"{len(decided)} faces: yours"
        return "corrected" if self.changed else "confirmed"

    @property
    def unreadable(self) -> bool:
        return self.verdict is None

    @property
    def corrected(self) -> bool:
        """A person decided this photo's label (it may agree with the machine)."""
        return self.correction is not None

    @property
    def decided_anything(self) -> bool:
        """The eyes' label (`corrected`) or any other check's flag was decided by a person: the card shows
        its badge and its Undo button."""
        return self.corrected or (self.outcome is not None and any(f.decided for f in self.outcome.flags))

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
        """Faces the machine found blinking first, then faces the photographer decided, then subjects, then
        background faces (each in detection order). Ranked by the machine's label, not the effective one, so
        a face keeps its place after the photographer marks it: it doesn't jump into the folded list."""
        return sorted(self.faces, key=lambda f: (f.machine_label != Verdict.BLINKING, not f.corrected,
                                                 not f.is_subject, f.index))

    @property
    def faces_shown(self) -> list[FaceCard]:
        """What the card shows at once; a 16-face group photo keeps the rest behind 'more faces'."""
        return self.faces_ranked[:FACES_SHOWN]

    @property
    def faces_more(self) -> list[FaceCard]:
        return self.faces_ranked[FACES_SHOWN:]

    @property
    def loupe_faces(self) -> list[FaceCard]:
        """The loupe's face panel: every subject face, and any other face the machine or the photographer
        found blinking or decided (ranked like the card)."""
        return [f for f in self.faces_ranked
                if f.is_subject or f.corrected or f.machine_label == Verdict.BLINKING]

    def zoom_eyes(self, face: FaceCard) -> str:
        """Where `face`'s eyes are in its 100 % crop, "u,v;u,v" (fractions), the eye to show first first: the
        most closed one, which is what a photographer zooms in to check. '' when unknown (the crop's middle)."""
        photo = self.photo
        aspect = photo.width / photo.height if photo.width and photo.height else 1.5
        stored = {"box": face.box, "eyes": [{"box": e.box} for e in face.eyes if e.box]}
        ranked = [e for e in face.eyes if e.box]
        points = classifier_services.eye_points(stored, aspect=aspect)
        if len(points) != len(ranked):
            return ""
        order = sorted(range(len(points)), key=lambda i: -ranked[i].p_closed)
        return ";".join(f"{points[i][0]:.3f},{points[i][1]:.3f}" for i in order)

    @property
    def loupe_background(self) -> int:
        return len(self.faces) - len(self.loupe_faces)

    @property
    def rejected_by_other_checks(self) -> bool:
        """Rejected, and not for its eyes: the eyes' own words would mislead on the card."""
        return self.outcome is not None and bool(self.outcome.rejected_by) and EYES not in self.outcome.rejected_by

    @property
    def kept_by_other_checks(self) -> bool:
        """A keeper that has no face: another check judged it (the eyes' "No face" would mislead)."""
        return (self.outcome is not None and self.outcome.kind == outcome.KEEPER
                and self.verdict == Verdict.NO_FACE.value)

    @property
    def whole_photo_call(self) -> str:
        """"keep" / "reject" when the photographer decided the whole photo that way, else ""."""
        if self.correction is None:
            return ""
        flag, value = self.correction.decision
        return value if flag == "" and value in ("keep", "reject") else ""

    @property
    def verdict_label(self) -> str:
        call = self.whole_photo_call
        if call:
            return "Kept" if call == "keep" else "Rejected"
        if self.rejected_by_other_checks:
            return "Rejected"
        if self.kept_by_other_checks:
            return "Keeper"
        return "Unreadable" if self.verdict is None else VERDICT_LABELS.get(self.verdict, self.verdict)

    @property
    def machine_label(self) -> str:
        return VERDICT_LABELS.get(self.machine_verdict or "", "—")

    @property
    def css_key(self) -> str:
        """blinking / not_blinking / no_face / unreadable: what the card's colour says."""
        if self.whole_photo_call:
            return GROUP_NOT_BLINKING if self.whole_photo_call == "keep" else GROUP_BLINKING
        if self.rejected_by_other_checks:
            return GROUP_BLINKING  # the reject colour, whichever check rejected it
        if self.kept_by_other_checks:
            return GROUP_NOT_BLINKING
        return "unreadable" if self.verdict is None else _VERDICT_GROUP.get(self.verdict, GROUP_NO_FACE)

    @property
    def confidence_percent(self) -> int | None:
        return None if self.confidence is None else round(100 * self.confidence)

    @property
    def is_keeper(self) -> bool:
        """Exported as a keeper: judged and not rejected by any check (a face-less detail shot is a keeper too)."""
        return self.outcome is not None and self.outcome.kind not in (outcome.REJECT, outcome.UNREADABLE)

    @property
    def verdict_reason(self) -> str:
        """The sentence behind `verdict` (the CSV's `reason`): the photographer's word when a whole-photo
        decision set it ("your call: keep anyway (the model read left eye closed (0.95))"), else `reason`,
        which already says a face decision. `reason` itself stays the machine's there: the card shows the
        decision in its badge and the eyes' reading beside it."""
        fix = self.correction
        if fix is None or fix.face_index is not None:
            return self.reason
        flag, value = fix.decision
        words = WHOLE_PHOTO_WORDS.get(value, value) if not flag else VERDICT_LABELS.get(self.verdict or "", value).lower()
        call = f"your call: {words}"
        return f"{call} (the model read {self.machine_reason})" if self.machine_reason else call

    @property
    def reasons(self) -> tuple[str, ...]:
        """Every reason in force, the photographer's decision first (the CSV's `reasons`)."""
        return self.outcome.reasons if self.outcome is not None else (self.reason,)

    @property
    def notes(self) -> tuple[str, ...]:
        return self.outcome.notes if self.outcome is not None else ()

    @property
    def other_reasons(self) -> list[str]:
        """What the checks besides the eyes say on this photo (their flags in force or unsure, their notes):
        the card shows them under the eyes' sentence."""
        if self.outcome is None:
            return []
        return [f"{f.title}: {f.sentence}" for f in self.outcome.flags if f.key != EYES
                if f.state in (outcome.YES, outcome.UNSURE) and f.sentence]

    @property
    def flag_actions(self) -> list[FlagAction]:
        """Buttons for each check besides the eyes (whose buttons the card has anyway) that fired, is unsure
        or was decided on this photo: a photographer corrects the check that spoke, with its own words."""
        if self.outcome is None:
            return []
        words = {c["key"]: c["words"] for c in classifier_selectors.checks()}
        return [FlagAction(key=f.key, title=f.title, flag_words=words[f.key]["flag"], clear_words=words[f.key]["not_flag"],
                           flag_key=_one_key(words[f.key]["key"]), clear_key=_one_key(words[f.key]["clear_key"]),
                           state=f.state, decided=f.decided)
                for f in self.outcome.flags
                if f.key != EYES and f.key in words and (f.decided or f.state in (outcome.YES, outcome.UNSURE))]

    @property
    def whole_photo_actions(self) -> bool:
        """Show "keep anyway" / "reject" (the whole photo, whatever its checks say) when a rejecting check
        besides the eyes speaks: with the eyes alone (or a note) the eyes' own buttons say the same."""
        rejecting = {c["key"] for c in classifier_selectors.checks() if c["rejects"]}
        return any(a.key in rejecting for a in self.flag_actions) or bool(self.whole_photo_call)


def _one_key(key: str) -> str:
    """The key hint shown on a button: a plain one-character key, else none (the key table binds only those)."""
    from ..vocabulary import RESERVED_KEYS  # the key table leaves these to the review's own jobs

    return key.upper() if len(key) == 1 and key not in RESERVED_KEYS else ""
