"""Retraining speed: a full retrain from scratch and a fine-tune on 2,000 new examples, as the training run does them.

    .venv/bin/python bench/retrain_bench.py [--data ../shared/data] [--threads 2] [--json out.json] [--quick]

Targets (issue 8): full retrain <= 10 min, fine-tune on <= 2,000 new examples <= 3 min, on 2 cores. Each
step is timed the way `training_run_execute` spends it: the base split (face-derived crops cached after the
first run), `ml.retrain.fit`, then the candidate and the "live" model scored on the same frozen arrays and
the gate. The new examples are the yawn_eyes close-ups (a domain the base data lacks) augmented up to 2,000.
The full retrain's model is the live model the fine-tune starts from. A benchmark, not a test: numbers
depend on what else runs on the machine (the load average is printed with them).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ml import datasets, retrain  # noqa: E402
from ml.cnn import INPUT_SIZE  # noqa: E402
from ml.train import augment  # noqa: E402


def new_examples(data_dir: Path, n: int, seed: int) -> retrain.Arrays:
    folder = data_dir / "yawn_eyes"
    loaded = datasets.load_folder(folder, mode="L")
    x = datasets.resize_square(loaded.images, INPUT_SIZE)
    y = loaded.labels
    rng = np.random.default_rng(seed)
    reps = []
    while sum(len(r) for r in reps) < n:
        reps.append(augment(x, rng, strength=0.5) if reps else x)
    x_all = np.concatenate(reps)[:n]
    y_all = np.concatenate([y] * len(reps))[:n]
    return retrain.Arrays(x_all, y_all)


def _projected(total: float, history: list[dict], epochs: int) -> float:
    """What the run would take with `epochs` epochs: the measured total plus the missing epochs at the median
    speed of the epochs after the first (the first also pays for tracing the training step)."""
    done = len(history)
    if done >= epochs or not history:
        return round(total, 1)
    later = sorted(h["seconds"] for h in history[1:]) or [history[0]["seconds"]]
    return round(total + (epochs - done) * later[len(later) // 2], 1)


CPU: dict[str, float] = {}


def _timed(fn, name: str = ""):
    """(result, wall seconds); the process CPU seconds go to CPU[name] (load-independent: with 2 training
    threads, CPU / 2 is roughly the wall time the step would take on 2 idle cores)."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    if name:
        CPU[name] = round(time.process_time() - c0, 1)
    return out, round(time.perf_counter() - t0, 1)


def run(args) -> dict:
    work = Path(tempfile.mkdtemp(prefix="retrain-bench-"))
    result: dict = {"threads": args.threads, "load_before": os.getloadavg(), "cpus": os.cpu_count()}
    base, t_data = _timed(lambda: retrain.base_split(args.data, use_faces=not args.quick), "data")
    result["data_seconds"] = t_data
    result["base"] = {"train": len(base.train), "val": len(base.val)}
    if args.start_from:  # fine-tune only, from an existing model (e.g. a version's eye_cnn.keras + .tflite)
        keras_path = Path(args.start_from)
        fitted = retrain.FitResult(keras_path=keras_path, tflite_path=keras_path.with_suffix(".tflite"), version="",
                                   epochs=0, seconds=0.0, init="given")
        result["full_retrain"] = None
    else:
        full_epochs = 2 if args.quick else (args.measure_epochs or args.full_epochs)
        fitted, t_fit = _timed(lambda: retrain.fit(base.train, work / "full", epochs=full_epochs,
                                                   threads=args.threads), "full_fit")
        _, t_eval = _timed(lambda: retrain.evaluate_arrays(fitted.tflite_path, base.val), "full_eval")
        result["full_retrain"] = {"epochs": full_epochs, "fit_seconds": t_fit, "eval_seconds": t_eval,
                                  "total_seconds": round(t_data + t_fit + t_eval, 1), "target_seconds": 600,
                                  "epoch_seconds": [h["seconds"] for h in fitted.history],
                                  "projected_total_seconds": _projected(t_data + t_fit + t_eval, fitted.history,
                                                                        args.full_epochs)}

    extra = new_examples(Path(args.data), 200 if args.quick else args.new, seed=1)
    frozen = retrain.Arrays(extra.x[::10], extra.y[::10])
    train = retrain.Arrays.join([base.train, extra])
    weights = np.concatenate([np.ones(len(base.train), np.float32), np.full(len(extra), 3.0, np.float32)])
    ft_epochs = 1 if args.quick else (args.measure_epochs or args.finetune_epochs)
    tuned, t_ft = _timed(lambda: retrain.fit(train, work / "tuned", init_keras=fitted.keras_path, epochs=ft_epochs,
                                             sample_weight=weights, threads=args.threads), "finetune_fit")

    def gate():
        cand = {"base": retrain.evaluate_arrays(tuned.tflite_path, base.val),
                "corrections": retrain.evaluate_arrays(tuned.tflite_path, frozen)}
        live = {"base": retrain.evaluate_arrays(fitted.tflite_path, base.val),
                "corrections": retrain.evaluate_arrays(fitted.tflite_path, frozen)}
        return cand, live, retrain.gate(cand, live, tolerance=0.005)

    (cand, live, g), t_gate = _timed(gate, "finetune_gate")
    result["fine_tune"] = {"new_examples": len(extra), "epochs": ft_epochs, "fit_seconds": t_ft, "gate_seconds": t_gate,
                           "total_seconds": round(t_data + t_ft + t_gate, 1), "target_seconds": 180,
                           "epoch_seconds": [h["seconds"] for h in tuned.history],
                           "projected_total_seconds": _projected(t_data + t_ft + t_gate, tuned.history,
                                                                 args.finetune_epochs),
                           "gate": g.to_dict(),
                           "base_accuracy": {"live": live["base"]["accuracy"], "candidate": cand["base"]["accuracy"]},
                           "new_examples_accuracy": {"live": live["corrections"]["accuracy"],
                                                     "candidate": cand["corrections"]["accuracy"]}}
    result["cpu_seconds"] = dict(CPU)
    result["load_after"] = os.getloadavg()
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--full-epochs", type=int, default=30)
    parser.add_argument("--finetune-epochs", type=int, default=4)
    parser.add_argument("--new", type=int, default=2000)
    parser.add_argument("--quick", action="store_true", help="a smoke run: no face crops, 2 + 1 epochs, 200 examples")
    parser.add_argument("--measure-epochs", type=int, default=None,
                        help="on a busy machine: run only this many epochs of each and project the rest")
    parser.add_argument("--start-from", type=Path, help="an eye_cnn.keras (with eye_cnn.tflite beside it): "
                                                          "skip the full retrain, fine-tune from it")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    result = run(args)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
