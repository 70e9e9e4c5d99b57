"""Training examples from corrections: the labelling rule, eye picks, opt-outs, the frozen share, export.

**The labelling rule** (`labelling.eyes_to_label`, tested in tests/classifier/test_training_examples.py). Only
corrections still in force count (the top of each photo/face stack with the rows recorded in its batch,
`review.selectors.in_force`: undone or superseded ones don't), and only eyes the model saw (state not
`not_visible`):

* whole photo marked **keep** (NOT_BLINKING): every eye of every subject face is *open*;
* a face marked **keep**: that face's eyes are *open*;
* a face (or the whole photo) marked **BLINKING**: the eye the photographer picked in the review (click or
  key on the eye close-up) is *closed*; with no pick, the eye the model saw as most closed (highest
  P(closed)) — on the whole photo, over all subject faces; with no visible eye, nothing. The other eye is
  never labelled: a blink can be one eye, and guessing would teach the model wrong;
* NO_FACE: nothing; "keep anyway" / "reject" pressed in the review: nothing (they don't say why);
* decisions read from an editor (`review.services.editor_decisions`): a keep is a delivered photo, so an
  eye check "clear" comes in with it (every subject eye *open*, as a whole-photo keep); a reject comes with
  an eye check "flagged" (BLINKING, above) only where Eye Spy's eye check saw the blink, else nothing.

Where one eye gets labels from a photo correction and a newer face correction, the newer one wins.

Examples are *cut* (`training_examples_sync`) by the training worker, never the web process: the original is
decoded and the face and landmark steps of the same ml pipeline re-run, and the crop the CNN consumes is
stored through sessions_app.media_names. A session whose photographer opted it out, or a correction that
is no longer in force, drops its examples (rows stay, marked dropped, never trained on). Which split an
example is in follows its session (`session_is_frozen`), so a session never straddles train and validation.
"""
from __future__ import annotations

import csv
import io
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from classifier.models import Correction, EyePick, Prediction, TrainingExample, TrainingOptOut
from eyespy_site.errors import AppError
from sessions_app.models import Photo, PhotoSession, User

from .labelling import CLOSED, EyeLabel, eyes_to_label, failure_tag, session_is_frozen  # the rule itself (pure)

logger = logging.getLogger(__name__)


class EyePickError(AppError):
    """An eye pick that can't be recorded; `reason` is shown as is."""


# --- Eye picks and opt-outs (web side: no ml) -----------------------------------------------------------


def eye_pick_create(*, photo: Photo, face_index: int, side: str, by: User | None) -> EyePick:
    """Record which eye of a face is the closed one (the review's click or key on an eye close-up)."""
    from review.selectors import photo_stored_faces

    if side not in ("left", "right"):
        raise EyePickError("pick the left or the right eye")
    stored = photo_stored_faces(photo=photo)
    if not 0 <= face_index < len(stored.faces):
        raise EyePickError(f"{photo.original_filename} has no face {face_index + 1}")
    if not any(isinstance(e, dict) and e.get("side") == side for e in stored.faces[face_index].get("eyes") or []):
        raise EyePickError(f"face {face_index + 1} has no {side} eye")
    return EyePick.objects.create(photo=photo, face_index=face_index, side=side, created_by=by)


def training_opt_out_set(*, owner: User, session: PhotoSession | None, opted_out: bool) -> None:
    """Keep a session (or with session=None, every session of `owner`) out of training, or let it back in.

    Examples already cut are dropped at the next sync (before any run trains), never deleted.
    """
    if session is not None and session.owner_id != owner.pk:
        raise EyePickError("not your session")
    rows = TrainingOptOut.objects.filter(owner=owner, session=session)
    if not opted_out:
        rows.delete()
        return
    try:
        with transaction.atomic():
            TrainingOptOut.objects.get_or_create(owner=owner, session=session)
    except IntegrityError:
        pass  # a double click: it is opted out either way


def opted_out_session_ids() -> tuple[set[int], set[int]]:
    """(session ids opted out one by one, owner ids who opted out everything)."""
    sessions, owners = set(), set()
    for owner_id, session_id in TrainingOptOut.objects.values_list("owner_id", "session_id"):
        if session_id is None:
            owners.add(owner_id)
        else:
            sessions.add(session_id)
    return sessions, owners


# --- Sync (training worker: decodes originals, runs the face pipeline) ------------------------------------


@dataclass
class SyncReport:
    created: int = 0
    dropped: int = 0
    restored: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> corrections that gave no example

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    def to_dict(self) -> dict:
        return {"created": self.created, "dropped": self.dropped, "restored": self.restored, "skipped": self.skipped}


@dataclass(frozen=True)
class _Wanted:
    correction: Correction
    eye: EyeLabel
    face_box: dict | None  # the face as the corrected prediction stored it (to find it again in the original)


def _active_corrections() -> dict[int, list[Correction]]:
    """photo id -> its corrections still in force (tops of the stacks, with their batch-mates), oldest first."""
    from review.selectors import correction_stacks, in_force

    rows = (Correction.objects.filter(photo__status=Photo.Status.DONE)
            .select_related("photo__session").order_by("created_at", "id"))
    by_photo: dict[int, list[Correction]] = defaultdict(list)
    for (photo_id, _face), stack in correction_stacks(rows).items():
        if stack:
            by_photo[photo_id] += in_force(stack)
    for items in by_photo.values():
        items.sort(key=lambda c: (c.created_at, c.id))
    return by_photo


def _latest_picks(photo_ids: set[int]) -> dict[int, dict[int, str]]:
    picks: dict[int, dict[int, str]] = defaultdict(dict)
    for p in EyePick.objects.filter(photo_id__in=photo_ids).order_by("created_at", "id"):
        picks[p.photo_id][p.face_index] = p.side  # newest wins
    return picks


def _wanted_examples(report: SyncReport) -> dict[tuple[int, int, str], _Wanted]:
    """(correction, face, side) -> what it should be labelled, for every correction in force and opted in.

    Each correction is read against the prediction it corrected (its model version's; else the one that
    counts now): that is the card the photographer saw, so its face numbers and P(closed) are the ones meant.
    """
    from ml.verdict import judgement

    from review.selectors import predictions_by_photo, thresholds_for

    active = _active_corrections()
    out_sessions, out_owners = opted_out_session_ids()
    counted = predictions_by_photo(Q(photo_id__in=list(active)))
    by_version = {(p.photo_id, p.model_version_id): p
                  for p in Prediction.objects.filter(photo_id__in=list(active)).only(
                      "id", "photo_id", "model_version_id", "details")}
    picks = _latest_picks(set(active))
    wanted: dict[tuple[int, int, str], _Wanted] = {}
    for photo_id, corrections in active.items():
        session = corrections[0].photo.session
        if session.id in out_sessions or session.owner_id in out_owners:
            continue
        by_eye: dict[tuple[int, str], _Wanted] = {}
        for correction in corrections:  # oldest first: a newer correction overwrites an older one's eye
            prediction = by_version.get((photo_id, correction.model_version_id)) or counted.get(photo_id)
            if prediction is None:
                report.skip("no stored prediction")
                continue
            faces = [f for f in (prediction.details or {}).get("faces") or [] if isinstance(f, dict)]
            subjects = [f.is_subject for f in judgement(faces, thresholds_for(session.strictness)).faces]
            eyes, why = eyes_to_label(label=correction.label, face_index=correction.face_index, faces=faces,
                                      subjects=subjects, picks=picks.get(photo_id, {}))
            if why:
                report.skip(why)
            for eye in eyes:
                by_eye[(eye.face_index, eye.side)] = _Wanted(correction, eye, faces[eye.face_index].get("box"))
        for w in by_eye.values():
            wanted[(w.correction.id, w.eye.face_index, w.eye.side)] = w
    return wanted


def training_examples_wanted() -> list[tuple[int, int, str, str, str]]:
    """What `training_examples_sync` would label, without decoding anything: (photo id, face, side, label,
    rule) for every eye the corrections in force label, sorted."""
    return sorted((w.correction.photo_id, w.eye.face_index, w.eye.side, w.eye.label, w.eye.rule)
                  for w in _wanted_examples(SyncReport()).values())


def _png(pixels) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def _cut(photo: Photo, wanted: list[_Wanted], report: SyncReport) -> int:
    """Cut and store the wanted eyes of one photo; returns how many examples were created."""
    from django.core.files.storage import default_storage

    from ml.imaging import ImageError, decode
    from ml.training_crops import cut_eye_crops, match_face

    try:
        with default_storage.open(photo.original.name, "rb") as fh:
            decoded = decode(fh.read(), max_pixels=settings.EYESPY_MAX_PIXELS)
        found = cut_eye_crops(decoded)
    except (ImageError, OSError) as exc:
        logger.warning("training crops: photo %s unreadable: %s", photo.pk, exc)
        report.skip("original unreadable")
        return 0
    frozen = session_is_frozen(photo.session.uuid)
    created = 0
    for w in wanted:
        face = match_face(w.face_box, found)
        crop = next((e for e in face.eyes if e.side == w.eye.side and e.visible), None) if face else None
        if crop is None:
            report.skip("face or eye not found again in the original")
            continue
        example = TrainingExample(
            correction=w.correction, photo=photo, photographer_id=w.correction.created_by_id,
            model_version_id=w.correction.model_version_id, face_index=w.eye.face_index, side=w.eye.side,
            label=w.eye.label, split=TrainingExample.Split.FROZEN if frozen else TrainingExample.Split.TRAIN,
            rule=w.eye.rule, tag=failure_tag(w.eye.label, w.eye.p_closed), p_closed=w.eye.p_closed,
        )
        example.crop.save(f"{example.key}.png", ContentFile(_png(crop.pixels)), save=False)
        try:
            with transaction.atomic():
                example.save()
            created += 1
        except IntegrityError:  # another sync cut it meanwhile
            example.crop.delete(save=False)
    return created


def training_examples_sync() -> SyncReport:
    """Bring the examples in line with the corrections in force: cut new ones, drop and restore others."""
    report = SyncReport()
    wanted = _wanted_examples(report)
    now = timezone.now()
    existing = {(e.correction_id, e.face_index, e.side): e for e in TrainingExample.objects.all()}
    for key, example in existing.items():
        w = wanted.get(key)
        if w is None and example.dropped_at is None:
            TrainingExample.objects.filter(pk=example.pk, dropped_at__isnull=True).update(
                dropped_at=now, dropped_reason="correction undone or superseded, or the session opted out")
            report.dropped += 1
        elif w is not None and example.dropped_at is not None and example.label == w.eye.label:
            TrainingExample.objects.filter(pk=example.pk).update(dropped_at=None, dropped_reason="")
            report.restored += 1
    todo: dict[int, list[_Wanted]] = defaultdict(list)
    for key, w in wanted.items():
        if key not in existing:
            todo[w.correction.photo_id].append(w)
    for photo_id, items in todo.items():
        report.created += _cut(items[0].correction.photo, items, report)
    logger.info("training examples: %s", report.to_dict())
    return report


# --- Reading the examples back (training, export) --------------------------------------------------------


def _read_gray(name: str):
    import numpy as np
    from django.core.files.storage import default_storage
    from PIL import Image

    with default_storage.open(name, "rb") as fh:
        return np.asarray(Image.open(fh).convert("L"), dtype=np.uint8)


def training_example_arrays(*, split: str, size: int = 32):
    """The examples in force of one split as `ml.retrain.Arrays` (crops resized to `size` if needed)."""
    import numpy as np

    from ml.datasets import resize_square
    from ml.retrain import Arrays

    rows = list(TrainingExample.objects.filter(dropped_at__isnull=True, split=split).order_by("id"))
    if not rows:
        return Arrays.empty(size)
    x = resize_square([_read_gray(e.crop.name) for e in rows], size)
    y = np.asarray([1 if e.label == CLOSED else 0 for e in rows], dtype=np.int64)
    return Arrays(x, y)


def training_set_export(*, out_dir: Path) -> dict[str, int]:
    """Write the examples in force: out/closed, out/open (train split; `ml.train --extra`), out/frozen/{closed,open}
    (the frozen share; `ml.evaluate out/frozen --eyes`) and out/manifest.csv. Returns counts per folder."""
    from django.core.files.storage import default_storage

    out_dir = Path(out_dir)
    counts: dict[str, int] = defaultdict(int)
    rows = TrainingExample.objects.filter(dropped_at__isnull=True).select_related("photo").order_by("id")
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / "manifest.csv").open("w", newline="") as manifest:
        writer = csv.writer(manifest)
        writer.writerow(["file", "label", "split", "rule", "tag", "p_closed", "photographer_id", "correction_id",
                         "photo_uuid", "face_index", "side", "model_version_id"])
        for e in rows:
            folder = Path(e.label) if e.split == TrainingExample.Split.TRAIN else Path("frozen") / e.label
            target = out_dir / folder / f"p{e.photographer_id or 0}-{e.key}.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            with default_storage.open(e.crop.name, "rb") as src:
                target.write_bytes(src.read())
            counts[str(folder)] += 1
            writer.writerow([str(target.relative_to(out_dir)), e.label, e.split, e.rule, e.tag, e.p_closed,
                             e.photographer_id, e.correction_id, e.photo.uuid.hex, e.face_index, e.side,
                             e.model_version_id])
    return dict(counts)
