"""Retraining runs: start, claim, run (examples -> data -> fit -> gate -> version), cancel, fail stale ones.

A run is a TrainingRun row moved only by conditional updates (like a photo): queued -> running ->
done | failed | cancelled. `training_run_execute` is the whole job; the Celery task on the `training`
queue and `manage.py retrain_model --inline` both call it. TensorFlow is imported only inside it (through
`ml.retrain.fit`), so only the training worker or the command ever loads it.

Safety: the candidate is written to storage and registered as a new ModelVersion only after training and
evaluation finished; it goes live only when the gate passes *and* the live model is still the one it was
compared with. A crash marks the run failed with the reason; a killed process leaves the row `running`
with a heartbeat that stops, and `training_runs_fail_stale` (the periodic sweep, the command, the next
start) marks it failed. Either way the live model is untouched.
"""
from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from classifier.models import ModelVersion, TrainingExample, TrainingRun
from classifier.services import (
    file_sha256,
    live_model_version,
    model_version_ensure_bundled,
    model_version_promote,
    model_version_weights_path,
)
from eyespy_site.errors import AppError
from sessions_app.models import User

logger = logging.getLogger(__name__)

LOG_TAIL_CHARS = 6000


class TrainingRunError(AppError):
    """A run that can't be started or changed; `reason` is shown as is."""


class _Cancelled(Exception):
    pass


class _NotRun(Exception):
    """The run has nothing sound to learn from (too few decisions, scratch without data): it says so, nothing changes."""

    def __init__(self, reason: str, *, mode: str, data: dict) -> None:
        super().__init__(reason)
        self.reason, self.mode, self.data = reason, mode, data


# --- Start / cancel / stale --------------------------------------------------------------------------------


def training_run_create(*, by: User | None, from_scratch: bool = False, epochs: int | None = None,
                        enqueue: bool = True) -> TrainingRun:
    """Queue a run (refused while another one is queued or running). Sent to the `training` queue on commit."""
    training_runs_fail_stale()
    params = {
        "from_scratch": bool(from_scratch),
        "epochs": int(epochs) if epochs else None,
        "seed": settings.EYESPY_TRAINING_SEED,
        "data_dir": str(settings.EYESPY_TRAINING_DATA_DIR),
        "use_faces": settings.EYESPY_TRAINING_USE_FACES,
        "correction_weight": settings.EYESPY_TRAINING_CORRECTION_WEIGHT,
        "tolerance": settings.EYESPY_GATE_BASE_TOLERANCE,
        "guard_tolerance": settings.EYESPY_GATE_GUARD_TOLERANCE,
        "min_frozen": settings.EYESPY_GATE_MIN_FROZEN,
        "min_examples": settings.EYESPY_TRAINING_MIN_EXAMPLES,
    }
    try:
        with transaction.atomic():
            run = TrainingRun.objects.create(requested_by=by, params=params)
            if enqueue:
                transaction.on_commit(lambda: _send(run.pk), robust=True)
    except IntegrityError:
        active = TrainingRun.objects.filter(status__in=[TrainingRun.Status.QUEUED, TrainingRun.Status.RUNNING]).first()
        raise TrainingRunError(
            f"training run {active.pk if active else '?'} is already queued or running; wait for it or cancel it "
            f"(a run whose process died is marked failed {settings.EYESPY_TRAINING_STALE_SECONDS} s after its "
            "last progress)") from None
    logger.info("training run %s queued by %s: %s", run.pk, by, params)
    return run


def _send(run_id: int) -> None:
    from learning.tasks import retrain_model_task

    retrain_model_task.delay(run_id)


def training_run_cancel(*, run: TrainingRun) -> TrainingRun:
    """A queued run is cancelled at once; a running one stops at its next epoch (nothing is kept)."""
    now = timezone.now()
    if TrainingRun.objects.filter(pk=run.pk, status=TrainingRun.Status.QUEUED).update(
            status=TrainingRun.Status.CANCELLED, cancel_requested=True, finished_at=now, error="cancelled"):
        pass
    else:
        TrainingRun.objects.filter(pk=run.pk, status=TrainingRun.Status.RUNNING).update(cancel_requested=True)
    run.refresh_from_db()
    return run


def training_run_fail(*, run_id: int, reason: str) -> bool:
    """Mark an unfinished run failed (the task's final failure, a dead worker). A finished run stays as it is."""
    return bool(TrainingRun.objects.filter(
        pk=run_id, status__in=[TrainingRun.Status.QUEUED, TrainingRun.Status.RUNNING]
    ).update(status=TrainingRun.Status.FAILED, error=reason[:2000], finished_at=timezone.now()))


def training_runs_fail_stale(*, now=None) -> int:
    """Running runs that stopped sending heartbeats (killed, out of memory, machine gone) become failed."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.EYESPY_TRAINING_STALE_SECONDS)
    stale = TrainingRun.objects.filter(status=TrainingRun.Status.RUNNING, heartbeat_at__lt=cutoff)
    stale_ids = list(stale.values_list("pk", flat=True))
    count = stale.update(
        status=TrainingRun.Status.FAILED, finished_at=now,
        error=f"the training process stopped (no progress for {settings.EYESPY_TRAINING_STALE_SECONDS} s: "
              "killed, out of memory or its machine went away); the live model was not changed",
    )
    for run_id in stale_ids:  # the dead process never got to remove its scratch folder
        for folder in _training_dir().glob(f"run{run_id}-*"):
            shutil.rmtree(folder, ignore_errors=True)
    if count:
        logger.warning("marked %d stale training run(s) failed", count)
    return count


# --- Progress ------------------------------------------------------------------------------------------------


class _Progress:
    """Writes phase, epoch, ETA, heartbeat and the log tail to the row; raises _Cancelled when asked to stop."""

    def __init__(self, run: TrainingRun, echo=None) -> None:
        self.run_id = run.pk
        self.lines: list[str] = []
        self.echo = echo
        self.timings: dict[str, float] = {}
        self._phase_started = time.perf_counter()
        self._phase = ""
        self._fit_started: float | None = None

    def log(self, line: str, *, final: bool = False, **fields) -> None:
        stamp = timezone.now().strftime("%H:%M:%S")
        self.lines.append(f"{stamp} {line}")
        tail = "\n".join(self.lines)[-LOG_TAIL_CHARS:]
        updated = TrainingRun.objects.filter(pk=self.run_id, status=TrainingRun.Status.RUNNING).update(
            log=tail, heartbeat_at=timezone.now(), **fields)
        if self.echo:  # after the row: whoever is told has the same view as the pages
            self.echo(line)
        if final:  # the version is stored by now: too late to cancel
            return
        if not updated:
            raise _Cancelled()
        if TrainingRun.objects.filter(pk=self.run_id, cancel_requested=True).exists():
            raise _Cancelled()

    def phase(self, name: str, line: str) -> None:
        now = time.perf_counter()
        if self._phase:
            self.timings[self._phase] = round(now - self._phase_started, 2)
        self._phase, self._phase_started = name, now
        self.log(line, phase=name, timings=self.timings)

    def epoch(self, epoch: int, epochs: int, stats: dict) -> None:
        if self._fit_started is None:
            self._fit_started = time.perf_counter() - stats.get("seconds", 0.0)
        elapsed = time.perf_counter() - self._fit_started
        eta = elapsed / epoch * (epochs - epoch)
        self.log(f"epoch {epoch}/{epochs} loss {stats['loss']:.4f} train acc {stats['train_acc']:.4f} "
                 f"({stats['seconds']:.1f} s, ETA {eta:.0f} s)", epoch=epoch, epochs=epochs, eta_seconds=round(eta, 1))

    def finish(self) -> dict:
        if self._phase:
            self.timings[self._phase] = round(time.perf_counter() - self._phase_started, 2)
        return self.timings


# --- The job ---------------------------------------------------------------------------------------------------


def training_run_claim(*, run_id: int) -> bool:
    now = timezone.now()
    return bool(TrainingRun.objects.filter(pk=run_id, status=TrainingRun.Status.QUEUED).update(
        status=TrainingRun.Status.RUNNING, started_at=now, heartbeat_at=now))


def training_run_execute(*, run_id: int, redelivered: bool = False, echo=None) -> TrainingRun:
    """Run one queued training run to its end (see module doc). Returns the run as it finished."""
    if not training_run_claim(run_id=run_id):
        if redelivered:
            training_run_fail(run_id=run_id, reason="the training worker stopped mid-run (killed?); the live "
                                                    "model was not changed; start a new run")
        logger.info("training run %s is not queued; skipping", run_id)
        return TrainingRun.objects.get(pk=run_id)
    run = TrainingRun.objects.get(pk=run_id)
    progress = _Progress(run, echo=echo)
    workdir = Path(tempfile.mkdtemp(prefix=f"run{run_id}-", dir=_training_dir()))
    try:
        summary = _train_and_gate(run, progress, workdir)
    except _NotRun as not_run:
        summary = {"version_id": None, "name": None, "live": False, "mode": not_run.mode, "metrics": {},
                   "gate": {"passed": False, "reason": not_run.reason}, "data": not_run.data, "seconds": None,
                   "status": TrainingRun.Status.FAILED.value, "error": not_run.reason, "run_id": run_id}
        progress.log(not_run.reason, final=True)
        TrainingRun.objects.filter(pk=run_id).update(timings=progress.finish(), summary=summary)
        training_run_fail(run_id=run_id, reason=not_run.reason)
    except _Cancelled:
        TrainingRun.objects.filter(pk=run_id, status=TrainingRun.Status.RUNNING).update(
            status=TrainingRun.Status.CANCELLED, finished_at=timezone.now(), error="cancelled",
            timings=progress.finish())
        logger.info("training run %s cancelled", run_id)
    except Exception as exc:  # a bug, bad data, out of disk: the run fails with its reason, nothing changes
        logger.exception("training run %s failed", run_id)
        TrainingRun.objects.filter(pk=run_id).update(timings=progress.finish())
        training_run_fail(run_id=run_id, reason=f"{type(exc).__name__}: {exc}")
    else:
        TrainingRun.objects.filter(pk=run_id).update(summary=summary)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return TrainingRun.objects.get(pk=run_id)


def _training_dir() -> Path:
    path = Path(settings.VAR_DIR) / "training"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _local_copy(field_file, target: Path) -> Path:
    with field_file.storage.open(field_file.name, "rb") as src, target.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    return target


def _train_and_gate(run: TrainingRun, progress: _Progress, workdir: Path) -> dict:
    import numpy as np

    from ml import retrain

    from .guard_crops import guard_set
    from .training_examples import training_example_arrays, training_examples_sync

    started = time.perf_counter()
    params = run.params
    live = live_model_version()
    if not live.keras_weights:  # a bundled version registered before its Keras file shipped
        bundled = model_version_ensure_bundled()
        live = bundled if bundled.pk == live.pk else live
    TrainingRun.objects.filter(pk=run.pk).update(base_version=live)
    live_path = model_version_weights_path(version=live)
    research = retrain.research_data_present(params.get("data_dir"))
    init_wanted = not params["from_scratch"]
    mode = "fine-tune" if init_wanted else "from scratch"

    progress.phase("examples", "cutting training examples from corrections")
    sync = training_examples_sync()
    progress.log(f"examples: {sync.to_dict()}")
    corr_train = training_example_arrays(split=TrainingExample.Split.TRAIN)
    corr_frozen = training_example_arrays(split=TrainingExample.Split.FROZEN)
    data = {"research_data": research, "corrections_train": len(corr_train), "corrections_frozen": len(corr_frozen),
            "corrections_train_by_label": corr_train.counts(), "corrections_frozen_by_label": corr_frozen.counts(),
            "examples_sync": sync.to_dict()}
    if not research:
        _check_enough_without_research(params, live, corr_train, mode=mode, data=data)

    if research:
        progress.phase("data", f"loading the research data from {params['data_dir']}")
        base = retrain.base_split(params["data_dir"], seed=params["seed"], use_faces=params["use_faces"])
        data["base_sources"] = base.counts
    else:
        progress.phase("data", f"no research data at {params.get('data_dir') or '(not set)'}: guarding against "
                               "forgetting with the live model's confident calls on your uncorrected photos")
        base = None
    guard = guard_set(model_path=live_path)
    data["guard"] = guard.to_dict()
    base_train = base.train if base else retrain.Arrays.empty()
    check_set = base.val if base else guard.val
    base_set = "research validation set" if base else "live model's confident calls on uncorrected photos"
    train = retrain.Arrays.join([base_train, guard.train, corr_train])
    weights = np.concatenate([np.ones(len(base_train) + len(guard.train), np.float32),
                              np.full(len(corr_train), params["correction_weight"], np.float32)])
    data.update({"base_train": len(base_train), "base_val": len(check_set), "base_set": base_set})
    progress.log(f"data: {len(train)} training crops ({len(corr_train)} from corrections, {len(guard.train)} guard), "
                 f"{len(check_set)} for the base check, {len(corr_frozen)} frozen corrections")

    init = None
    if init_wanted:
        if live.keras_weights:
            init = _local_copy(live.keras_weights, workdir / "live.keras")
        else:
            mode = "from scratch"
            progress.log(f"live model {live.name} has no Keras weights to fine-tune: training from scratch")
    epochs = params["epochs"] or (
        retrain.epochs_for(len(train), epochs=settings.EYESPY_TRAINING_EPOCHS_FINETUNE,
                           min_steps=settings.EYESPY_TRAINING_MIN_STEPS) if init
        else settings.EYESPY_TRAINING_EPOCHS_SCRATCH)
    progress.phase("training", f"{'fine-tuning ' + live.name if init else 'training from scratch'}, "
                               f"{epochs} epochs, seed {params['seed']}")
    TrainingRun.objects.filter(pk=run.pk).update(epochs=epochs)
    # Calibration needs honest labels of both kinds: the research validation split. Without it the fine-tune
    # keeps the temperature the live model was exported with.
    fitted = retrain.fit(train, workdir / "candidate", init_keras=init, epochs=epochs, seed=params["seed"],
                         sample_weight=weights, threads=settings.EYESPY_TRAINING_THREADS, on_epoch=progress.epoch,
                         calibrate=base.val if base else None, freeze_batchnorm=True if base is None else None)
    data["temperature"] = fitted.temperature

    progress.phase("evaluating", "scoring the candidate and the live model on the same frozen sets")
    scores = {
        "candidate": {"base": retrain.evaluate_arrays(fitted.tflite_path, check_set),
                      "corrections": retrain.evaluate_arrays(fitted.tflite_path, corr_frozen)},
        "live": {"base": retrain.evaluate_arrays(live_path, check_set),
                 "corrections": retrain.evaluate_arrays(live_path, corr_frozen)},
    }
    tolerance = params["tolerance"] if base else params.get("guard_tolerance", params["tolerance"])
    result = retrain.gate(scores["candidate"], scores["live"], tolerance=tolerance,
                          min_frozen=params.get("min_frozen", 0), base_set=base_set)
    progress.log(f"gate {'passed' if result.passed else 'refused'}: {result.reason}")
    for line in result.report.splitlines():
        progress.log(f"  {line}")

    progress.phase("saving", "storing the candidate's weights")
    seconds = round(time.perf_counter() - started, 1)
    version = _register(run, live=live, fitted=fitted, scores=scores, gate=result, data=data,
                        seconds=seconds, mode=mode)
    timings = progress.finish()
    summary = {
        "version_id": version.pk, "name": version.name, "live": version.is_live, "mode": mode,
        "metrics": scores["candidate"], "gate": version.gate, "data": data, "seconds": seconds,
    }
    progress.log(f"done in {seconds:.0f} s: {version.name} is {'live' if version.is_live else 'a candidate'}",
                 final=True)
    TrainingRun.objects.filter(pk=run.pk).update(
        status=TrainingRun.Status.DONE, finished_at=timezone.now(), result=version, timings=timings,
        summary=summary, epoch=F("epochs"), eta_seconds=0, phase="done")
    return summary


def _check_enough_without_research(params: dict, live: ModelVersion, corr_train, *, mode: str, data: dict) -> None:
    """Without research data only a fine-tune on enough of the photographer's decisions is worth running."""
    if params["from_scratch"] or not live.keras_weights:
        why = ("training from scratch" if params["from_scratch"] else
               f"the live model {live.name} has no Keras weights to fine-tune, and training from scratch")
        raise _NotRun(f"{why} needs the research data set (EYESPY_TRAINING_DATA_DIR), which is not there; "
                      "fine-tune a model that has Keras weights (the bundled one has) instead", mode=mode, data=data)
    needed = int(params.get("min_examples") or 0)
    if len(corr_train) < needed:
        raise _NotRun(f"not enough decisions to learn from yet: {len(corr_train)} eye crops from corrections on "
                      f"the training side, {needed} needed; the live model stays", mode=mode, data=data)


def _register(run, *, live, fitted, scores, gate, data, seconds, mode) -> ModelVersion:
    """Weights to storage first, then the row; live only if the gate passed and the live model is unchanged."""
    name = f"run{run.pk}-{fitted.version}"
    gate_record = {**gate.to_dict(), "live_version": live.name, "live_version_id": live.pk,
                   "candidate": scores["candidate"], "live": scores["live"], "mode": mode}
    version = ModelVersion(
        name=name, checksum=file_sha256(fitted.tflite_path), metrics=scores["candidate"], gate=gate_record,
        data=data, train_seconds=seconds, parent=live, created_by=run.requested_by,
        notes=f"Training run {run.pk}: {mode}, {fitted.epochs} epochs, seed {run.params['seed']}.",
    )
    with fitted.tflite_path.open("rb") as fh:
        version.weights.save("eye_cnn.tflite", File(fh), save=False)
    with fitted.keras_path.open("rb") as fh:
        version.keras_weights.save("eye_cnn.keras", File(fh), save=False)
    with transaction.atomic():
        version.save()
        if gate.passed:
            current = ModelVersion.objects.select_for_update().filter(is_live=True).first()
            if current is not None and current.pk != live.pk:
                version.gate = {**gate_record, "passed": False,
                                "reason": f"the live model changed to {current.name} during the run; "
                                          "promote this one by hand if wanted"}
                version.save(update_fields=["gate"])
            else:
                model_version_promote(version=version)
    return version


def training_summary_line(run: TrainingRun) -> str:
    """The command's last line: one JSON object (also for a failed or cancelled run)."""
    if run.summary:
        return json.dumps(run.summary, sort_keys=False)
    return json.dumps({"version_id": None, "name": None, "live": False, "mode": None, "metrics": {}, "gate": {},
                       "data": {}, "seconds": None, "status": run.status, "error": run.error, "run_id": run.pk})
