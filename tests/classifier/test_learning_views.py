"""The learning pages: every `learning:` URL checked for tenants and staff, promote/roll back, runs, re-analysis,
what a new model changed in a session, eye picks, the personal model."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client as WebClient
from django.urls import URLPattern
from django.utils import timezone

from classifier import services as classifier_services
from classifier.models import EyePick, ModelVersion, PersonalModel, ReanalysisJob, TrainingRun
from learning import services as learning_services
from review import services as review_services
from sessions_app.models import PhotoSession
from tests.factories import make_session, make_user
from tests.review_builders import BLINK, OPEN, add_prediction, face, make_judged_photo
from tests.url_patterns import namespace_patterns

pytestmark = pytest.mark.django_db

STAFF_ONLY = ("dataset", "models", "promote", "reanalyse_many", "run_start", "run", "run_cancel", "example_crop")


ROUTES = namespace_patterns("learning")


@pytest.fixture
def sent(monkeypatch):
    """Runs and photos handed to the broker (after commit), recorded instead of sent."""
    calls = []
    monkeypatch.setattr("learning.services.training_runs._send", lambda run_id: calls.append(("run", run_id)))
    monkeypatch.setattr("classifier.services.processing.photos_enqueue",
                        lambda *, photo_ids: calls.extend(("photo", i) for i in photo_ids))
    return calls


@pytest.fixture
def bob_web(db):
    c = WebClient()
    c.force_login(make_user("bob@example.com"))
    return c


@pytest.fixture
def staff_web(db):
    c = WebClient()
    c.force_login(make_user("staff@example.com", is_staff=True))
    return c


@pytest.fixture
def things(alice, session):
    photo = make_judged_photo(session, faces=BLINK)
    run = TrainingRun.objects.create(status=TrainingRun.Status.DONE)
    return {"session": session, "photo": photo, "run": run, "version": ModelVersion.objects.get(is_live=True)}


def _fill(route: str, pattern: URLPattern, things: dict) -> str:
    url = "/" + route
    for name in pattern.pattern.converters:
        value = {"photo_uuid": lambda: str(things["photo"].uuid), "session_uuid": lambda: str(things["session"].uuid),
                 "run_id": lambda: str(things["run"].pk), "version_id": lambda: str(things["version"].pk),
                 "example_id": lambda: "999"}.get(name)
        if value is None:
            pytest.fail(f"{route}: teach _fill about {name!r}")
        url = re.sub(rf"<(?:\w+:)?{name}>", value(), url)
    return url


def _rows():
    return {m.__name__: list(m.objects.order_by("pk").values())
            for m in (ModelVersion, TrainingRun, EyePick, ReanalysisJob, PersonalModel, PhotoSession)}


@pytest.mark.parametrize(("route", "pattern"), ROUTES, ids=[r for r, _ in ROUTES])
def test_other_photographers_and_non_staff_get_nothing(bob_web, things, route, pattern, sent):
    url = _fill(route, pattern, things)
    before = _rows()
    answers = {bob_web.get(url).status_code, bob_web.post(url, {"face": "0", "side": "left"}).status_code}
    if pattern.name in STAFF_ONLY:
        assert answers <= {302, 405}, answers  # to the admin login
    elif pattern.pattern.converters:
        assert answers <= {404, 405} and 404 in answers, answers
    assert _rows() == before or not pattern.pattern.converters
    assert sent == []


@pytest.mark.parametrize(("route", "pattern"), ROUTES, ids=[r for r, _ in ROUTES])
def test_posts_need_the_csrf_token(alice, things, route, pattern, sent):
    c = WebClient(enforce_csrf_checks=True)
    c.force_login(make_user("admin@example.com", is_staff=True, is_superuser=True))
    before = _rows()
    status = c.post(_fill(route, pattern, things), {"face": "0", "side": "left"}).status_code
    assert status in (403, 405) and _rows() == before and sent == []


def test_staff_pages_render(staff_web, things):
    for url in ("/learning/models/", "/learning/dataset/", f"/learning/runs/{things['run'].pk}/"):
        assert staff_web.get(url).status_code == 200, url
    assert 'class="chart"' not in staff_web.get("/learning/models/").content.decode()  # nothing evaluated yet
    ModelVersion.objects.create(name="run1-abc", metrics={"base": {"accuracy": 0.95}, "corrections": {"accuracy": 0.8}},
                                gate={"passed": False, "reason": "worse on the frozen corrections"})
    page = staff_web.get("/learning/models/").content.decode()
    assert things["version"].name in page and "run1-abc" in page and "refused: worse on the frozen corrections" in page
    assert 'class="chart"' in page and page.count("<circle") >= 3


def test_promote_and_roll_back_in_one_click(staff_web, things):
    old = things["version"]
    new = ModelVersion.objects.create(name="run9-candidate", parent=old, gate={"passed": True, "reason": "x"})
    staff_web.post(f"/learning/models/{new.pk}/promote/")
    assert list(ModelVersion.objects.filter(is_live=True)) == [new]
    staff_web.post(f"/learning/models/{old.pk}/promote/")  # the roll-back
    assert list(ModelVersion.objects.filter(is_live=True)) == [old]


REFUSED_GATE = {"passed": False, "reason": "not enough frozen examples yet (12 of 30 needed): the live model stays",
                "report": "frozen corrections, n=12: live 0.50 (95 % CI 0.25-0.75) -> candidate 0.58 (95 % CI 0.32-0.81)",
                "live_version": "bundled-1cc4073ac412"}


def test_promoting_a_refused_candidate_asks_first_and_shows_what_the_gate_found(staff_web, things):
    old = things["version"]
    refused = ModelVersion.objects.create(name="run9-refused", parent=old, gate=REFUSED_GATE)
    assert "Make live…" in staff_web.get("/learning/models/").content.decode()

    page = staff_web.post(f"/learning/models/{refused.pk}/promote/")

    assert page.status_code == 200 and list(ModelVersion.objects.filter(is_live=True)) == [old]
    text = page.content.decode()
    assert "not enough frozen examples yet (12 of 30 needed)" in text and "95 % CI 0.25-0.75" in text
    assert 'name="confirm" value="1"' in text
    staff_web.post(f"/learning/models/{refused.pk}/promote/", {"confirm": "1"})
    assert list(ModelVersion.objects.filter(is_live=True)) == [refused]


def test_the_admin_action_asks_before_making_a_refused_candidate_live(things):
    admin_web = WebClient()
    admin_web.force_login(make_user("root@example.com", is_staff=True, is_superuser=True))
    old = things["version"]
    refused = ModelVersion.objects.create(name="run9-refused", parent=old, gate=REFUSED_GATE)
    url = "/admin/classifier/modelversion/"
    form = {"action": "make_live", "_selected_action": [str(refused.pk)]}

    page = admin_web.post(url, form)

    assert page.status_code == 200 and "12 of 30 needed" in page.content.decode()
    assert list(ModelVersion.objects.filter(is_live=True)) == [old]
    admin_web.post(url, {**form, "confirm": "1"})
    assert list(ModelVersion.objects.filter(is_live=True)) == [refused]


def test_start_a_run_once_and_cancel_it(staff_web, sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_web.post("/learning/runs/start/", {"epochs": "2"})
    run = TrainingRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/learning/runs/{run.pk}/"
    assert run.params["epochs"] == 2 and run.params["from_scratch"] is False and sent == [("run", run.pk)]
    staff_web.post("/learning/runs/start/")  # refused while one is queued
    assert TrainingRun.objects.count() == 1
    staff_web.post(f"/learning/runs/{run.pk}/cancel/")
    run.refresh_from_db()
    assert run.status == "cancelled"


def test_a_run_whose_worker_died_is_marked_failed(settings):
    run = TrainingRun.objects.create(status=TrainingRun.Status.RUNNING,
                                     heartbeat_at=timezone.now() - timedelta(seconds=settings.EYESPY_TRAINING_STALE_SECONDS + 5))
    assert learning_services.training_runs_fail_stale() == 1
    run.refresh_from_db()
    assert run.status == "failed" and "stopped" in run.error and "live model was not changed" in run.error
    # The task redelivered after the kill does not start it again either.
    redelivered = learning_services.training_run_execute(run_id=run.pk, redelivered=True)
    assert redelivered.status == "failed"


def test_the_review_says_what_the_new_model_changed_and_reanalyses(web_alice, session, sent):
    old = ModelVersion.objects.create(name="old-model")
    changed = make_judged_photo(session, faces=OPEN, model=old)
    same = make_judged_photo(session, faces=OPEN, model=old)
    live = classifier_services.model_version_promote(version=ModelVersion.objects.create(name="new-model", parent=old))
    add_prediction(changed, faces=BLINK, model=live)
    add_prediction(same, faces=OPEN, model=live)

    page = web_alice.get(f"/learning/sessions/{session.uuid}/models/").content.decode()
    assert "The new model changed 1 verdict in this session" in page
    assert "new-model" in page

    web_alice.post(f"/learning/sessions/{session.uuid}/reanalyse/")
    job = ReanalysisJob.objects.get()
    assert job.model_version == live and job.total == 2
    assert sent == []  # both photos already have the live model's prediction: nothing to queue


def test_eye_pick_is_recorded_for_the_owner(web_alice, session):
    photo = make_judged_photo(session, faces=[face(0.9, 0.1)])
    r = web_alice.post(f"/learning/photos/{photo.uuid}/eye-pick/", {"face": "0", "side": "left"})
    assert r.status_code == 200 and r.json()["side"] == "left"
    assert web_alice.post(f"/learning/photos/{photo.uuid}/eye-pick/", {"face": "3", "side": "left"}).status_code == 400
    picks = web_alice.get(f"/learning/sessions/{session.uuid}/eye-picks/").json()["picks"]
    assert picks == {f"{photo.uuid}:0": "left"}


def test_personal_strictness_is_offered_past_the_minimum_and_applied_only_on_accept(web_alice, alice, session,
                                                                                      settings):
    settings.EYESPY_PERSONAL_MIN_DECISIONS = 6
    # A photographer who keeps half-closed smiles: the model (at 0.5) calls them blinking; she keeps them.
    squints = [make_judged_photo(session, faces=[face(0.6, 0.55)]) for _ in range(4)]
    blinks = [make_judged_photo(session, faces=[face(0.97, 0.95)]) for _ in range(2)]
    page = web_alice.get("/learning/me/").content.decode()
    assert "0</strong> decisions" in page and "switches on after 6" in page
    for p in squints:
        review_services.correction_create(photo=p, label="NOT_BLINKING", by=alice)
    for p in blinks[:1]:
        review_services.correction_create(photo=p, label="BLINKING", by=alice)
    assert "switches on after 6" in web_alice.get("/learning/me/").content.decode()
    review_services.correction_create(photo=blinks[1], label="BLINKING", by=alice)

    page = web_alice.get("/learning/me/").content.decode()
    session.refresh_from_db()
    assert session.strictness == 0.5  # nothing applied yet
    assert "33 %" in page and "100 %" in page  # measured before / after, in percent like every page
    web_alice.post("/learning/me/accept/")
    session.refresh_from_db()
    model = PersonalModel.objects.get()
    assert session.strictness == model.strictness < 0.5 and model.closed > 0.6
    assert (model.agreement_before, model.agreement_after, model.decisions) == (pytest.approx(0.3333, abs=1e-3), 1.0, 6)


@pytest.fixture
def web_alice(alice):
    c = WebClient()
    c.force_login(alice)
    return c


def test_the_session_opt_out_toggle(web_alice, alice, session):
    web_alice.post(f"/learning/sessions/{session.uuid}/opt-out/", {"opt_out": "1"})
    assert alice.training_opt_outs.filter(session=session).exists()
    web_alice.post(f"/learning/sessions/{session.uuid}/opt-out/", {"opt_out": "0"})
    assert not alice.training_opt_outs.exists()
    other = make_session(alice)
    assert other.pk


def test_training_runs_on_its_own_queue_with_its_own_time_limit(settings):
    from eyespy_site.celery import app
    from learning import tasks

    route = app.amqp.router.route({}, tasks.retrain_model_task.name)
    assert route["queue"].name == "training"
    assert tasks.retrain_model_task.time_limit > settings.CELERY_TASK_TIME_LIMIT
    assert tasks.retrain_model_task.autoretry_for == ()  # a failed run is recorded, not silently re-run


def test_the_task_records_a_crash_on_the_run_and_keeps_the_live_model(monkeypatch):
    from learning import tasks

    live = classifier_services.live_model_version()
    run = learning_services.training_run_create(by=None, enqueue=False)
    monkeypatch.setattr("ml.retrain.base_split", lambda *a, **k: (_ for _ in ()).throw(OSError("disk on fire")))
    tasks.retrain_model_task.apply(args=[run.pk])
    run.refresh_from_db()
    assert run.status == "failed" and "disk on fire" in run.error
    assert list(ModelVersion.objects.filter(is_live=True)) == [live] and ModelVersion.objects.count() == 1
    line = learning_services.training_summary_line(run)
    assert '"version_id": null' in line and '"status": "failed"' in line


def test_a_running_run_stops_at_its_next_progress_line_when_cancelled(monkeypatch):
    """Cancel sets a flag; the run checks it after every log line (every epoch) and ends cancelled, nothing kept."""
    import numpy as np

    from ml import retrain

    live = classifier_services.live_model_version()
    run = learning_services.training_run_create(by=None, enqueue=False)
    tiny = retrain.Arrays(np.zeros((2, 32, 32), np.uint8), np.array([0, 1]))

    def base_split_while_staff_cancel(*args, **kwargs):
        learning_services.training_run_cancel(run=TrainingRun.objects.get(pk=run.pk))  # the click, while data loads
        return retrain.BaseSplit(train=tiny, val=tiny, counts={})

    monkeypatch.setattr("ml.retrain.base_split", base_split_while_staff_cancel)
    monkeypatch.setattr("ml.retrain.fit", lambda *a, **k: pytest.fail("trained after a cancel"))
    finished = learning_services.training_run_execute(run_id=run.pk)
    assert finished.status == "cancelled" and finished.cancel_requested and finished.finished_at
    assert list(ModelVersion.objects.filter(is_live=True)) == [live] and ModelVersion.objects.count() == 1
