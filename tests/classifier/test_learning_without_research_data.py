"""The learning loop on a photographer's own install: no research data anywhere, the bundled model fine-tuned.

Drawn portraits (tests/browser/photos.py: no research-use data) go through the real worker path with the
bundled model, which reads most drawn *open* eyes as closed or unsure. The photographer keeps those photos
(corrections); the run fine-tunes the shipped Keras weights on them plus the guard crops (the live model's
confident calls on the photos nobody corrected), the gate decides on the frozen session, the candidate goes
live, and the frozen session analysed again agrees with the photographer, while the drawn closed eyes nobody
corrected stay closed. Runs in CI (no `shared_data` fixture): a few seconds of training on one thread.
"""
from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from PIL import Image

from classifier import services as classifier_services
from classifier.models import ModelVersion, TrainingExample, TrainingRun
from classifier.services.processing import photo_process
from learning import services as learning_services
from learning.services.labelling import RULE_KEEP_PHOTO, RULE_MOST_CLOSED
from review import selectors as review_selectors
from review import services as review_services
from sessions_app.models import Photo
from tests.browser.photos import face_pictures
from tests.classifier.learning_builders import two_sessions
from tests.factories import make_photo

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

FACES = 24  # drawn faces of each kind


def _portrait(face: Image.Image, n: int) -> bytes:
    """A small frame with the face in it (positions vary a little, so no two photos are the same bytes)."""
    canvas = Image.new("RGB", (640, 480), (120 + n % 7, 130, 140))
    canvas.paste(face.resize((300, 300)), (150 + 3 * (n % 9), 80 + 2 * (n % 5)))
    buf = io.BytesIO()
    canvas.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _photos(session, kind: str, indexes) -> list[Photo]:
    faces = face_pictures(kind, FACES)
    photos = []
    for n in indexes:
        photo = make_photo(session, name=f"{kind}_{n:02d}.jpg", data=_portrait(faces[n], n))
        photo_process(photo_id=photo.id)
        photo.refresh_from_db()
        assert photo.status == Photo.Status.DONE, photo.error
        photos.append(photo)
    return photos



def _verdicts(photos) -> list[str | None]:
    return [review_selectors.photo_card(photo=p).machine_verdict for p in photos]


@pytest.fixture
def own_install(settings, tmp_path):
    """Settings of a real install: the research data folder is empty; small, fast runs."""
    empty = tmp_path / "no-research-data"
    empty.mkdir()
    settings.VAR_DIR = tmp_path / "var"
    settings.EYESPY_TRAINING_DATA_DIR = empty
    settings.EYESPY_TRAINING_THREADS = 1
    settings.EYESPY_TRAINING_EPOCHS_FINETUNE = 3
    settings.EYESPY_TRAINING_MIN_STEPS = 30
    settings.EYESPY_TRAINING_FROZEN_PERCENT = 50
    settings.EYESPY_GATE_MIN_FROZEN = 10
    settings.EYESPY_TRAINING_MIN_EXAMPLES = 8
    from classifier import worker_model

    worker_model.reset()
    live, _ = classifier_services.model_version_ensure_default()
    assert live.keras_weights, "the bundled model ships its Keras weights"
    return live


def test_corrections_retrain_gate_live_and_reanalysis_agree_without_research_data(own_install, alice):
    train_session, frozen_session = two_sessions(alice)
    taught = _photos(train_session, "open", range(0, FACES, 2))
    held_out = _photos(frozen_session, "open", range(1, FACES, 2))
    untouched_closed = _photos(train_session, "closed", range(0, 8)) + _photos(frozen_session, "closed", range(8, 12))
    before = _verdicts(held_out)
    assert before.count("BLINKING") >= 2  # the bundled model gets drawn open eyes wrong: something to learn
    for photo in taught + held_out:
        review_services.correction_create(photo=photo, label="NOT_BLINKING", by=alice)

    run = learning_services.training_run_create(by=alice, enqueue=False)
    run = learning_services.training_run_execute(run_id=run.pk)

    assert run.status == TrainingRun.Status.DONE, run.error
    summary = run.summary
    assert summary["mode"] == "fine-tune" and summary["data"]["research_data"] is False
    assert summary["data"]["guard"]["kept"] > 0  # the guard against forgetting came from the untouched photos
    gate = run.result.gate
    assert gate["passed"], gate["report"]
    assert gate["n"]["corrections"] >= 10 and "95 % CI" in gate["report"]
    assert run.result.is_live and ModelVersion.objects.get(is_live=True) == run.result
    assert run.result.parent == own_install

    classifier_services.photos_requeue(photos_qs=Photo.objects.filter(session__in=[train_session, frozen_session]))
    for photo in held_out + untouched_closed:
        photo_process(photo_id=photo.id)
    after = _verdicts(held_out)
    print(f"LEARNING-OWN-DATA before={before.count('NOT_BLINKING')}/{len(before)} "
          f"after={after.count('NOT_BLINKING')}/{len(after)} timings={run.timings}\n{gate['report']}")
    assert after.count("NOT_BLINKING") > before.count("NOT_BLINKING")
    assert after.count("BLINKING") == 0, after  # re-analysis agrees with the photographer
    assert _verdicts(untouched_closed) == ["BLINKING"] * len(untouched_closed)  # nothing forgotten


def test_keeps_read_back_from_the_editor_are_decisions_enough_to_retrain(own_install, alice, tmp_path):
    """`read_decisions` then `retrain_model --inline`: the photos the photographer kept in their editor teach
    the eye model open eyes, the rejects of the blinks Eye Spy saw teach closed ones, with no key pressed in
    the review."""
    session, _ = two_sessions(alice)
    kept = _photos(session, "open", range(0, 6))
    rejected = _photos(session, "closed", range(0, 2))
    _photos(session, "closed", range(2, 6))  # nobody decided these: the guard against forgetting
    assert _verdicts(rejected) == ["BLINKING", "BLINKING"]
    folder = tmp_path / "lightroom"
    folder.mkdir()
    for photo, rating in [(p, 3) for p in kept] + [(p, -1) for p in rejected]:
        with photo.original.open("rb") as fh:
            (folder / photo.original_filename).write_bytes(fh.read())
        (folder / photo.original_filename).with_suffix(".xmp").write_text(
            '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            f'<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="{rating}"/>'
            "</rdf:RDF></x:xmpmeta>")

    out = io.StringIO()
    call_command("read_decisions", str(session.uuid), "--from", str(folder), stdout=out)
    assert "eye labels for training (12 open, 2 closed)" in out.getvalue().splitlines()[-1], out.getvalue()
    out = io.StringIO()
    call_command("retrain_model", "--inline", stdout=out)

    result = json.loads(out.getvalue().splitlines()[-1])
    assert result["version_id"] is not None, result  # past "not enough decisions": a candidate was trained
    assert result["data"]["corrections_train_by_label"] == {"closed": 2, "open": 12}
    assert set(TrainingExample.objects.values_list("rule", flat=True)) == {RULE_KEEP_PHOTO, RULE_MOST_CLOSED}


def test_too_few_decisions_say_so_and_keep_the_live_model(own_install, alice):
    session, _ = two_sessions(alice)
    photo = _photos(session, "open", [0])[0]
    review_services.correction_create(photo=photo, label="NOT_BLINKING", by=alice)

    run = learning_services.training_run_create(by=alice, enqueue=False)
    run = learning_services.training_run_execute(run_id=run.pk)

    assert run.status == TrainingRun.Status.FAILED
    assert "not enough decisions to learn from yet: 2 eye crops" in run.error and "8 needed" in run.error
    assert run.result is None and ModelVersion.objects.get(is_live=True) == own_install
    line = learning_services.training_summary_line(run)
    assert '"version_id": null' in line and "not enough decisions" in line and "DatasetError" not in line


def test_from_scratch_without_research_data_is_refused_with_a_reason(own_install, alice):
    run = learning_services.training_run_create(by=alice, from_scratch=True, enqueue=False)
    run = learning_services.training_run_execute(run_id=run.pk)

    assert run.status == TrainingRun.Status.FAILED
    assert "needs the research data set" in run.error and "fine-tune" in run.error
    assert ModelVersion.objects.get(is_live=True) == own_install
