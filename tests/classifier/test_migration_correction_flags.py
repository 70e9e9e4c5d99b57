"""Migration 0005 (corrections per flag): a database in the schema before it, with every kind of correction
(photo and face, each label, an undone one, a bulk batch), eye picks, training examples and a gallery
selection, migrates with nothing lost: each row gets its (flag, value), undo rows stay in the stack of the
row they take back, and every photo's outcome and every training example read the same after."""
from __future__ import annotations

import uuid

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from review import selectors
from classifier.models import Correction, EyePick, TrainingExample
from sessions_app.models import Photo, Selection
from tests.gallery_builders import make_gallery
from tests.review_builders import BLINK, OPEN, face, live_model, make_judged_photo

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("classifier", "0004_correction_batch")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _outcome(photo: Photo) -> tuple:
    card = selectors.photo_card(photo=Photo.objects.get(pk=photo.pk))
    return card.group, card.verdict, card.reason, tuple(f.label for f in card.faces)


def test_corrections_get_flags_and_every_outcome_and_example_stays(alice, monkeypatch):
    from galleries import services as gallery_services

    monkeypatch.setattr(gallery_services, "gallery_previews_enqueue", lambda *, gallery: None)
    old = _migrate(BEFORE)
    OldCorrection = old.get_model("classifier", "Correction")
    from tests.factories import make_session

    session = make_session(alice, title="Before the registry")
    blink, keep, group, noface, undone, bulk1, bulk2 = (
        make_judged_photo(session, faces=faces, name=f"P{i}.JPG")
        for i, faces in enumerate([BLINK, OPEN, [face(0.05, 0.1), face(0.9, 0.95, size_px=380)], OPEN, BLINK,
                                   OPEN, OPEN]))
    version = live_model().pk
    now = timezone.now()
    tick = iter(range(1, 100))

    def correct(photo, label, previous, *, face_index=None, undoes=None, batch=None):
        return OldCorrection.objects.create(
            photo_id=photo.pk, face_index=face_index, label=label, previous_label=previous, model_version_id=version,
            created_by_id=alice.pk, created_at=now + timezone.timedelta(seconds=next(tick)),
            undoes_id=undoes.pk if undoes else None, batch=batch)

    correct(blink, "NOT_BLINKING", "BLINKING")  # "keep": the model was wrong
    correct(keep, "BLINKING", "NOT_BLINKING")  # a missed blink
    correct(group, "NOT_BLINKING", "BLINKING", face_index=1)  # face 2 is fine after all
    correct(noface, "NO_FACE", "NOT_BLINKING")
    first = correct(undone, "NOT_BLINKING", "BLINKING")
    correct(undone, "BLINKING", "NOT_BLINKING", undoes=first)  # taken back: the machine counts again
    batch = uuid.uuid4()
    for photo in (bulk1, bulk2):
        correct(photo, "BLINKING", "NOT_BLINKING", batch=batch)
    photos = [blink, keep, group, noface, undone, bulk1, bulk2]
    expected = {
        blink.pk: ("not_blinking", "NOT_BLINKING"), keep.pk: ("blinking", "BLINKING"),
        group.pk: ("not_blinking", "NOT_BLINKING"), noface.pk: ("no_face", "NO_FACE"),
        undone.pk: ("blinking", "BLINKING"), bulk1.pk: ("blinking", "BLINKING"), bulk2.pk: ("blinking", "BLINKING"),
    }
    # Eye picks, a training example and a gallery selection: rows other tables hold about these photos.
    EyePick.objects.create(photo=keep, face_index=0, side="left", created_by=alice)
    example = TrainingExample.objects.create(
        correction_id=OldCorrection.objects.filter(photo_id=keep.pk).first().pk, photo=keep, photographer=alice,
        face_index=0, side="left", label="closed", split="train", rule="picked eye", tag="missed_blink",
        p_closed=0.05, crop=ContentFile(b"png", name="c.png"))
    gallery = make_gallery(session, [keep, blink], previews=False)
    Selection.objects.create(gallery=gallery, name="Jane", email="jane@example.com")
    before_examples = list(TrainingExample.objects.values())

    _migrate([("classifier", "0005_correction_flags")])

    flags = {(c.photo_id, c.face_index, c.label, c.undoes_id is not None): (c.flag, c.value)
             for c in Correction.objects.all()}
    assert flags[(blink.pk, None, "NOT_BLINKING", False)] == ("blink", "clear")
    assert flags[(keep.pk, None, "BLINKING", False)] == ("blink", "flagged")
    assert flags[(group.pk, 1, "NOT_BLINKING", False)] == ("blink", "clear")
    assert flags[(noface.pk, None, "NO_FACE", False)] == ("", "no_face")
    assert flags[(undone.pk, None, "BLINKING", True)] == ("blink", "flagged")  # the undo row: the same stack
    # What the review read from these rows before (by the pre-registry rules: the newest word per stack).
    after = {p.pk: _outcome(p) for p in photos}
    assert {pk: o[:2] for pk, o in after.items()} == expected
    assert after[group.pk][3] == ("NOT_BLINKING", "NOT_BLINKING")  # the face correction still holds
    assert after[undone.pk][2].startswith("main face:"), after[undone.pk]  # undone: the machine's own words again
    assert after[noface.pk][2] == after[noface.pk][2] and Correction.objects.filter(value="").count() == 0
    assert list(TrainingExample.objects.values()) == before_examples
    assert example.pk and EyePick.objects.count() == 1 and Selection.objects.count() == 1
