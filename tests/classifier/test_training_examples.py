"""Training examples from corrections: the written-down labelling rule, the frozen share, undo and opt-out, export."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from classifier.models import EyePick, TrainingExample
from classifier.services.processing import photo_process
from learning import services as learning_services
from review import services as review_services
from learning.services.labelling import (
    RULE_KEEP_FACE,
    RULE_KEEP_PHOTO,
    RULE_MOST_CLOSED,
    RULE_PICKED,
    eyes_to_label,
    failure_tag,
    session_is_frozen,
)
from sessions_app import media_names
from tests.conftest import ROOT
from tests.factories import make_photo, make_session
from tests.review_builders import eye, face

# --- The rule (pure) ----------------------------------------------------------------------------------------

TWO_FACES = [face(0.2, 0.9), face(0.6, 0.1, size_px=390)]  # eyes stored right, left


def _labels(result):
    eyes, why = result
    return sorted((e.face_index, e.side, e.label, e.rule) for e in eyes), why


def test_keep_photo_labels_every_subject_eye_open():
    eyes, why = _labels(eyes_to_label(label="NOT_BLINKING", face_index=None, faces=TWO_FACES,
                                      subjects=[True, True], picks={}))
    assert why == "" and eyes == [(0, "left", "open", RULE_KEEP_PHOTO), (0, "right", "open", RULE_KEEP_PHOTO),
                                  (1, "left", "open", RULE_KEEP_PHOTO), (1, "right", "open", RULE_KEEP_PHOTO)]


def test_keep_photo_skips_background_faces_and_hidden_eyes():
    faces = [{**face(0.1, 0.1), "eyes": [eye("right", 0.1), eye("left", 0.0, visible=False)]}, face(0.1, 0.1)]
    eyes, _ = _labels(eyes_to_label(label="NOT_BLINKING", face_index=None, faces=faces, subjects=[True, False],
                                    picks={}))
    assert eyes == [(0, "right", "open", RULE_KEEP_PHOTO)]


def test_a_face_correction_labels_only_that_face():
    eyes, _ = _labels(eyes_to_label(label="NOT_BLINKING", face_index=1, faces=TWO_FACES, subjects=[True, True],
                                    picks={}))
    assert eyes == [(1, "left", "open", RULE_KEEP_FACE), (1, "right", "open", RULE_KEEP_FACE)]


def test_blinking_uses_the_picked_eye_first():
    eyes, _ = _labels(eyes_to_label(label="BLINKING", face_index=0, faces=TWO_FACES, subjects=[True, True],
                                    picks={0: "left"}))
    assert eyes == [(0, "left", "closed", RULE_PICKED)]  # the model thought right was the closed one


def test_blinking_without_a_pick_uses_the_eye_the_model_saw_as_most_closed():
    face_fix, _ = _labels(eyes_to_label(label="BLINKING", face_index=1, faces=TWO_FACES, subjects=[True, True],
                                        picks={0: "left"}))  # a pick on another face doesn't count here
    assert face_fix == [(1, "left", "closed", RULE_MOST_CLOSED)]
    photo_fix, _ = _labels(eyes_to_label(label="BLINKING", face_index=None, faces=TWO_FACES,
                                         subjects=[True, True], picks={}))
    assert photo_fix == [(0, "right", "closed", RULE_MOST_CLOSED)]  # 0.9: the most closed of all subject eyes


def test_blinking_with_no_visible_eye_and_no_face_label_nothing_and_say_why():
    hidden = [{**face(0.0, 0.0), "eyes": [eye("right", 0, visible=False), eye("left", 0, visible=False)]}]
    assert eyes_to_label(label="BLINKING", face_index=None, faces=hidden, subjects=[True], picks={}) == (
        [], "blinking, but no visible eye to label")
    assert eyes_to_label(label="NO_FACE", face_index=None, faces=TWO_FACES, subjects=[True, True],
                         picks={}) == ([], "marked no face")


def test_failure_tags():
    assert failure_tag("closed", 0.2) == "missed_blink"
    assert failure_tag("open", 0.8) == "false_blink"
    assert failure_tag("open", 0.4) == "borderline"
    assert failure_tag("closed", 0.95) == "confirmed"


def test_the_frozen_share_is_by_session_deterministic_and_about_the_setting():
    import uuid

    ids = [uuid.UUID(int=i * 7919 + 1) for i in range(2000)]
    share = sum(session_is_frozen(u, percent=20) for u in ids) / len(ids)
    assert 0.17 < share < 0.23
    assert [session_is_frozen(u, percent=20) for u in ids[:50]] == [session_is_frozen(u, percent=20) for u in ids[:50]]
    assert not any(session_is_frozen(u, percent=0) for u in ids)


# --- Cut from real photos ----------------------------------------------------------------------------------------

pytestmark_db = pytest.mark.django_db


@pytest.fixture
def face_photo(shared_data, session):
    """A CEW face image uploaded as a photo and analysed by the real worker path (bundled model)."""
    path = sorted((shared_data / "faces" / "open").iterdir())[3]
    photo = make_photo(session, name=path.name, data=path.read_bytes())
    photo_process(photo_id=photo.id)
    photo.refresh_from_db()
    assert photo.status == "done"
    return photo


@pytestmark_db
def test_a_keep_becomes_two_open_crops_at_the_models_input_size(face_photo, alice, settings):
    settings.EYESPY_TRAINING_FROZEN_PERCENT = 0
    review_services.correction_create(photo=face_photo, label="NOT_BLINKING", by=alice)

    report = learning_services.training_examples_sync()

    examples = list(TrainingExample.objects.order_by("side"))
    assert report.created == 2 and [e.side for e in examples] == ["left", "right"]
    for e in examples:
        assert (e.label, e.split, e.rule, e.photographer) == ("open", "train", RULE_KEEP_PHOTO, alice)
        assert e.crop.name == media_names.training_crop_name(photo_uuid=face_photo.uuid, example_key=e.key)
        with e.crop.open("rb") as fh:
            assert Image.open(fh).size == (32, 32)
    assert learning_services.training_examples_sync().created == 0  # idempotent


@pytestmark_db
def test_undo_and_opt_out_drop_examples_and_opting_back_in_restores_them(face_photo, alice):
    review_services.correction_create(photo=face_photo, label="NOT_BLINKING", by=alice)
    learning_services.training_examples_sync()
    assert TrainingExample.objects.filter(dropped_at__isnull=True).count() == 2

    learning_services.training_opt_out_set(owner=alice, session=face_photo.session, opted_out=True)
    assert learning_services.training_examples_sync().dropped == 2
    learning_services.training_opt_out_set(owner=alice, session=face_photo.session, opted_out=False)
    assert learning_services.training_examples_sync().restored == 2

    review_services.correction_undo(photo=face_photo, by=alice)
    learning_services.training_examples_sync()
    assert TrainingExample.objects.filter(dropped_at__isnull=True).count() == 0
    assert TrainingExample.objects.count() == 2  # dropped, never deleted


@pytestmark_db
def test_a_picked_eye_is_the_closed_example(face_photo, alice):
    learning_services.eye_pick_create(photo=face_photo, face_index=0, side="left", by=alice)
    review_services.correction_create(photo=face_photo, label="BLINKING", by=alice)
    learning_services.training_examples_sync()
    example = TrainingExample.objects.get()
    assert (example.side, example.label, example.rule) == ("left", "closed", RULE_PICKED)
    with pytest.raises(learning_services.EyePickError):
        learning_services.eye_pick_create(photo=face_photo, face_index=4, side="left", by=alice)
    assert EyePick.objects.count() == 1


@pytestmark_db
def test_export_writes_folders_that_ml_evaluate_reads(face_photo, alice, tmp_path, settings):
    from django.core.management import call_command

    settings.EYESPY_TRAINING_FROZEN_PERCENT = 100  # this session is frozen: its crops go to frozen/
    other = make_session(alice)
    review_services.correction_create(photo=face_photo, label="NOT_BLINKING", by=alice)
    call_command("export_training_set", "--out", str(tmp_path / "set"))
    assert sorted(p.name for p in (tmp_path / "set" / "frozen" / "open").iterdir()) == [
        f"p{alice.pk}-c{face_photo.corrections.get().pk}-f0-left.png",
        f"p{alice.pk}-c{face_photo.corrections.get().pk}-f0-right.png"]
    assert (tmp_path / "set" / "manifest.csv").read_text().count("\n") == 3
    run = subprocess.run([sys.executable, "-m", "ml.evaluate", str(tmp_path / "set" / "frozen"), "--eyes"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "n=2" in run.stdout
    assert other.pk  # an empty session exports nothing and breaks nothing
    arr = np.asarray(Image.open(next((tmp_path / "set" / "frozen" / "open").iterdir())))
    assert arr.shape == (32, 32)


@pytestmark_db
def test_the_dataset_page_counts_and_shows_the_examples(face_photo, alice, client):
    from tests.factories import make_user

    review_services.correction_create(photo=face_photo, label="NOT_BLINKING", by=alice)
    learning_services.training_examples_sync()
    client.force_login(make_user("staff@example.com", is_staff=True))
    page = client.get("/learning/dataset/").content.decode()
    assert "2 eye crops in force" in page and "alice@example.com" in page and RULE_KEEP_PHOTO in page
    example = TrainingExample.objects.first()
    crop = client.get(f"/learning/dataset/examples/{example.pk}.png")
    assert crop.status_code == 200 and crop["Content-Type"] == "image/png"
    client.force_login(alice)  # photographers don't see the dataset (other photographers' eyes)
    assert client.get(f"/learning/dataset/examples/{example.pk}.png").status_code == 302
