"""Decisions the photographer made in their editor (Lightroom, Capture One, darktable), read back from XMP.

`editor_decisions_read` finds a session's photos in the photographer's folder exactly as `sync_xmp` does
(`exports.folder_match`), reads the rating and colour label of each one's sidecars (IMG_0001.xmp,
IMG_0001.JPG.xmp) and of the XMP inside JPEG/TIFF/DNG/HEIC files, and records what they say as the photographer's
whole-photo decision: the same Correction rows as the review's keys, in one batch, so the session's undo
takes the whole import back in one step and training reads them like any correction (opt-outs included).

What Eye Spy wrote itself is not a decision (`xmp_packet.their_marks` drops a value equal to ours). A photo
whose latest decision already says the same is left alone, so reading the same folder twice records nothing.

**What it teaches the eye model** (`DecisionRules.eyes_from_decisions`, on unless turned off per read): a keep
is a delivered photo, so its subjects' eyes are taken as open (an eye check "clear" on the whole photo, with
the keep, when a subject face has a visible eye). A reject doesn't say why: it confirms a blink only where Eye
Spy's own eye check saw one (an eye check "flagged": the eye it saw as most closed is labelled closed);
otherwise it teaches the eyes nothing.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from django.db.models import Q

from classifier.models import Correction, TrainingOptOut, Verdict
from eyespy_site.errors import AppError
from sessions_app.models import Photo, PhotoSession

from .. import outcome, selectors
from ..exports.folder_match import Found, Missed, match_folder, sidecars_of
from ..exports.xmp_embed import HEAD_BYTES, read_embedded, sniff
from ..exports.xmp_packet import MAX_PACKET_BYTES, TheirMarks, XmpError, their_marks
from .corrections import whole_photo_decisions_create

KEEP, REJECT = "keep", "reject"
CHANGED, CONFIRMED, UNCHANGED = "changed", "confirmed", "unchanged"
NO_DECISION, UNMATCHED, NOT_FOUND, FAILED, COVERED = (
    "no decision in the file", "unmatched", "not found", "failed", "covered")
_WAS = {outcome.KEEPER: "a keeper", outcome.NO_FACE: "a keeper (no face)", outcome.REJECT: "a reject",
        outcome.CHECK: "still to check"}


class EditorDecisionsError(AppError):
    """The read can't start at all (the folder isn't one); per-file problems are lines, never this."""


@dataclass(frozen=True)
class DecisionRules:
    """Which marks mean keep or reject. A label "" (or "none") means that label decides nothing.
    `eyes_from_decisions`: keeps teach open eyes and rejects of a blink Eye Spy saw teach that blink."""

    keep_rating: int = 1
    keep_label: str = "Green"
    reject_label: str = "Red"
    eyes_from_decisions: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.keep_rating <= 5:
            raise EditorDecisionsError(f"the keep rating is 1 to 5 stars, not {self.keep_rating}")

    def say(self, marks: TheirMarks) -> list[tuple[str, str]]:
        """(keep/reject, why) for each mark that decides something."""
        said = []
        if marks.rating is not None and marks.rating < 0:  # −1 is the reject flag (darktable, Bridge, digiKam)
            said.append((REJECT, f"rating {marks.rating}"))
        elif marks.rating is not None and marks.rating >= self.keep_rating:
            said.append((KEEP, f"rating {marks.rating}"))
        label = marks.label.strip().lower()
        for value, wanted in ((REJECT, self.reject_label), (KEEP, self.keep_label)):
            wanted = wanted.strip().lower()
            if label and wanted not in ("", "none") and label == wanted:
                said.append((value, f"label {marks.label}"))
        return said


@dataclass(frozen=True)
class DecisionLine:
    path: str  # relative to the folder read
    action: str  # CHANGED, CONFIRMED, UNCHANGED, NO_DECISION, UNMATCHED, NOT_FOUND, FAILED or COVERED
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.path}: {self.action}" + (f" ({self.detail})" if self.detail else "")


@dataclass(frozen=True)
class DecisionsReport:
    lines: list[DecisionLine]
    dry_run: bool
    opted_out: bool  # recorded all the same; training leaves them out
    eye_labels: bool = True  # DecisionRules.eyes_from_decisions
    eyes_open: int = 0  # eyes this read labels open for training (keeps), recorded or, in a dry run, planned
    eyes_closed: int = 0  # eyes it labels closed (rejects of a blink Eye Spy saw: one eye each)

    def count(self, action: str) -> int:
        return sum(1 for line in self.lines if line.action == action)

    @property
    def summary(self) -> str:
        text = (f"{self.count(CHANGED)} changed, {self.count(CONFIRMED)} confirmed, {self.count(UNCHANGED)} "
                f"unchanged, {self.count(NO_DECISION)} without a decision, {self.count(UNMATCHED)} unmatched, "
                f"{self.count(NOT_FOUND)} not found, {self.count(FAILED)} failed.")
        if not self.eye_labels:
            text += " Eye labels are off for this read: the eye model learns nothing from it."
        elif not self.opted_out:
            labels = self.eyes_open + self.eyes_closed
            text += (f" {'Would add' if self.dry_run else 'Adds'} {labels} eye label{'s' if labels != 1 else ''} "
                     f"for training ({self.eyes_open} open, {self.eyes_closed} closed).")
        if self.dry_run:
            text += " Dry run: nothing recorded."
        if self.opted_out:
            text += " This session is kept out of training: the decisions count in the review only."
        return text


@dataclass
class _PhotoFiles:
    """A session photo's files found in the folder (two for a RAW + JPEG pair) and what their XMP says."""

    found: list[Found] = field(default_factory=list)
    said: list[tuple[str, str]] = field(default_factory=list)  # (keep/reject, "IMG_0001.xmp: rating -1")
    error: str = ""


def _packets(path: Path) -> list[tuple[Path, bytes]]:
    """Every XMP packet beside or inside `path`. Raises XmpError (a broken or hostile one) or OSError."""
    packets = []
    for sidecar in sidecars_of(path):
        if sidecar.is_symlink() or not sidecar.is_file():
            raise XmpError(f"{sidecar.name} is not a plain file")
        if sidecar.stat().st_size > MAX_PACKET_BYTES:
            raise XmpError(f"{sidecar.name} is too big to be a real sidecar")
        packets.append((sidecar, sidecar.read_bytes()))
    with path.open("rb") as fh:
        if sniff(fh.read(HEAD_BYTES)) is not None:
            fh.seek(0)
            inside = read_embedded(fh)
            if inside:
                packets.append((path, inside))
    return packets


def _read(files: _PhotoFiles, found: Found, rules: DecisionRules, seen: set[Path]) -> None:
    try:
        for source, packet in _packets(found.path):
            if source in seen:  # a pair's shared IMG_0001.xmp counts once
                continue
            seen.add(source)
            try:
                marks = their_marks(packet)
            except XmpError as exc:
                raise XmpError(f"{source.name}: {exc.reason}") from None
            files.said += [(value, f"{source.name}: {why}") for value, why in rules.say(marks)]
    except XmpError as exc:
        files.error = exc.reason
    except OSError as exc:
        files.error = f"{found.path.name}: {exc.strerror or type(exc).__name__}"


def _verdict(card: selectors.PhotoCard, value: str) -> tuple[str, str]:
    """(CHANGED / CONFIRMED / UNCHANGED, words) for the photographer's `value` against the photo as it stands."""
    call = card.whole_photo_call
    if call == value:
        return UNCHANGED, f"{value}, as you had already decided"
    if call:
        return CHANGED, f"{value}, was your {call}"
    kind = card.outcome.kind if card.outcome is not None else ""
    agrees = kind == outcome.REJECT if value == REJECT else kind in (outcome.KEEPER, outcome.NO_FACE)
    if agrees:
        return CONFIRMED, f"{value}, as Eye Spy said"
    return CHANGED, f"{value}, was {_WAS.get(kind, 'undecided')}"


EYES_OPEN, EYES_BLINK = " — eyes taken as open", " — taken as the blink Eye Spy saw"


def _eyes_taught(card: selectors.PhotoCard, value: str) -> tuple[str, int]:
    """(the eye check's value to record with `value`, or "", and how many eyes it labels for training)."""
    if value == KEEP:
        visible = sum(1 for face in card.faces if face.is_subject for eye in face.eyes if eye.state != "not_visible")
        return (Correction.Value.CLEAR.value, visible) if visible else ("", 0)
    blinked = card.machine_verdict == card.verdict == Verdict.BLINKING.value  # the machine's, not overruled
    return (Correction.Value.FLAGGED.value, 1) if value == REJECT and blinked else ("", 0)


def _opted_out(session: PhotoSession) -> bool:
    return TrainingOptOut.objects.filter(Q(session=session) | Q(session__isnull=True), owner_id=session.owner_id).exists()


def editor_decisions_read(*, session: PhotoSession, folder: str | os.PathLike, rules: DecisionRules | None = None,
                          dry_run: bool = False) -> DecisionsReport:
    """Record the keep / reject decisions the photographer's XMP holds for `session`'s photos found under
    `folder` (recursively), as the session owner's corrections in one undoable batch. One line per file;
    `dry_run` says the same and records nothing. Raises EditorDecisionsError only for a folder that isn't one."""
    rules = rules or DecisionRules()
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise EditorDecisionsError(f"{root} is not a folder")
    root = root.resolve()

    def rel(path: Path | str) -> str:
        return str(path.relative_to(root)) if isinstance(path, Path) else path

    # First what every file says, in folder order; then each photo's decision from all its files at once.
    order: list[Missed | _PhotoFiles] = []
    by_photo: dict[int, _PhotoFiles] = {}
    seen: set[Path] = set()
    for match in match_folder(root, selectors.session_cards(session=session)):
        if isinstance(match, Missed):
            order.append(match)
            continue
        files = by_photo.get(match.card.photo.pk)
        if files is None:
            files = by_photo[match.card.photo.pk] = _PhotoFiles()
            order.append(files)
        files.found.append(match)
        if not files.error:
            _read(files, match, rules, seen)

    planned: dict[int, tuple[str, str]] = {}  # photo id -> (action, words)
    to_record: list[tuple[Photo, str]] = []
    eyes: dict[int, str] = {}  # photo id -> the eye check's value recorded with its decision
    labels: dict[int, int] = {}  # photo id -> eyes that value labels for training
    for photo_id, files in by_photo.items():
        card = files.found[0].card
        values = {value for value, _ in files.said}
        if files.error or card.unreadable or len(values) != 1:
            continue
        value = values.pop()
        action, words = _verdict(card, value)
        words = f"{words}; {', '.join(why for _, why in files.said)}"
        if action != UNCHANGED:
            to_record.append((card.photo, value))
            eye, labels[photo_id] = _eyes_taught(card, value) if rules.eyes_from_decisions else ("", 0)
            if eye:
                eyes[photo_id] = eye
                words += EYES_OPEN if value == KEEP else EYES_BLINK
        planned[photo_id] = (action, words)

    skipped: dict[int, str] = {}
    if to_record and not dry_run:
        _, skipped = whole_photo_decisions_create(decisions=to_record, by=session.owner, eyes=eyes)
    taught = [(eyes[pk], labels[pk]) for pk in eyes if pk not in skipped]

    lines: list[DecisionLine] = []
    for item in order:
        if isinstance(item, Missed):
            lines.append(DecisionLine(rel(item.path), NOT_FOUND if item.in_session else UNMATCHED, item.reason))
            continue
        first, *rest = item.found
        photo_id = first.card.photo.pk
        lines.append(DecisionLine(rel(first.path), *_line(item, planned.get(photo_id), skipped.get(photo_id))))
        lines += [DecisionLine(rel(f.path), COVERED, f"same photo as {first.path.name}") for f in rest]
    return DecisionsReport(
        lines=lines, dry_run=dry_run, opted_out=_opted_out(session), eye_labels=rules.eyes_from_decisions,
        eyes_open=sum(n for value, n in taught if value == Correction.Value.CLEAR),
        eyes_closed=sum(n for value, n in taught if value == Correction.Value.FLAGGED))


def _line(files: _PhotoFiles, planned: tuple[str, str] | None, skipped: str | None) -> tuple[str, str]:
    """(action, detail) for a photo's first file."""
    if files.error:
        return FAILED, files.error
    if files.found[0].card.unreadable:
        return FAILED, "Eye Spy could not read this photo, so there is no verdict to decide"
    if skipped:
        return FAILED, skipped
    if planned is not None:
        return planned
    if files.said:  # more than one value: the files disagree, and guessing would teach the model wrong
        return NO_DECISION, "its marks disagree: " + ", ".join(f"{why} says {value}" for value, why in files.said)
    return NO_DECISION, ""


def photographer_folder(*, owner, relative: str) -> Path:
    """The folder a photographer may read from the session page: `relative` below their own
    <EYESPY_EDITOR_FOLDERS_ROOT>/<email>/, never outside it (no "..", no absolute paths, no links out)."""
    from django.conf import settings

    if not settings.EYESPY_EDITOR_FOLDERS_ROOT:
        raise EditorDecisionsError("reading editor folders on this server is not set up "
                                   "(EYESPY_EDITOR_FOLDERS_ROOT); use manage.py read_decisions")
    home = (Path(settings.EYESPY_EDITOR_FOLDERS_ROOT) / owner.email).resolve()
    wanted = (home / relative.strip().lstrip("/")).resolve()
    if wanted != home and home not in wanted.parents:
        raise EditorDecisionsError("that folder is outside your own folder on this server")
    if not wanted.is_dir():
        raise EditorDecisionsError(f"no folder {relative.strip() or '.'} in your folder on this server")
    return wanted
