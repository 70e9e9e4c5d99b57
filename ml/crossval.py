"""Grouped k-fold cross-validation of the eye CNN, and the one final model + test run.

    python -m ml.crossval cv    --data ../shared/data --out /tmp/cv      # k models, out-of-fold logits
    python -m ml.crossval final --data ../shared/data --out /tmp/cv      # one model on all dev data
    python -m ml.crossval test  --data ../shared/data --out /tmp/cv      # the final test (eye level), touched once
    python -m ml.devdata --data ../shared/data --out /tmp/test --side test   # + `ml.evaluate` on its folders

Dev/test and folds come from `ml.devdata` (group = source photo / LFW person / yawn pair, CEW faces
share groups with their eye patches). `cv` writes OUT/oof_<tag>.npz (a logit for every dev eye,
predicted by the model that did not see its fold) after each fold, so a stopped run resumes.
Every later choice — temperature, openness fusion, cut-offs, the check band — is fitted on
out-of-fold logits by `ml.selection`, again fold by fold, so its score is on data it was not chosen on.
TensorFlow is imported only when training.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

from ml import devdata

logger = logging.getLogger(__name__)

DEFAULT_EPOCHS = 24
SEED = 20261201


def _train_rows(dev: devdata.DevData, fold: int | None) -> np.ndarray:
    dev_rows = dev.fold >= 0
    return np.flatnonzero(dev_rows & (dev.fold != fold)) if fold is not None else np.flatnonzero(dev_rows)


def _weights(dev: devdata.DevData, rows: np.ndarray, yawn_weight: float) -> np.ndarray:
    return np.where(dev.eyes.source[rows] == "yawn", yawn_weight, 1.0)


def run_cv(data_dir: Path, out_dir: Path, *, tag: str = "base", epochs: int = DEFAULT_EPOCHS,
           folds: int = devdata.N_FOLDS, width: int = 24, yawn_weight: float = 1.0,
           sources: tuple[str, ...] = ("cew_eyes", "face_eyes", "yawn"), threads: int = 2) -> Path:
    """Train one model per fold on the other folds; save every dev eye's out-of-fold logit."""
    from ml.train import fit_arrays, logits_of

    dev = devdata.load_dev(data_dir, folds=folds)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"oof_{tag}.npz"
    oof = np.full(len(dev.eyes), np.nan)
    done: list[int] = []
    if path.is_file():
        with np.load(path) as z:
            oof, done = z["logit"], list(z["done"])
    for k in range(folds):
        if k in done:
            continue
        t0 = time.perf_counter()
        rows = _train_rows(dev, k)
        rows = rows[np.isin(dev.eyes.source[rows], sources)]
        model = fit_arrays(dev.eyes.x[rows], dev.eyes.y[rows], seed=SEED + k, epochs=epochs, width=width,
                           threads=threads, sample_weight=_weights(dev, rows, yawn_weight))
        held = np.flatnonzero(dev.fold == k)
        oof[held] = logits_of(model, dev.eyes.x[held])
        done.append(k)
        np.savez(path, logit=oof, done=np.asarray(done))
        acc = float(((oof[held] > 0) == dev.eyes.y[held]).mean())
        logger.info("fold %d/%d: trained on %d, held %d, eye accuracy %.4f (%.0fs)", k + 1, folds, len(rows),
                    len(held), acc, time.perf_counter() - t0)
    (out_dir / f"oof_{tag}.json").write_text(json.dumps(
        {"tag": tag, "epochs": epochs, "folds": folds, "width": width, "yawn_weight": yawn_weight,
         "sources": list(sources), "seed": SEED}, indent=1))
    return path


def run_final(data_dir: Path, out_dir: Path, *, temperature: float, epochs: int = DEFAULT_EPOCHS,
              width: int = 24, yawn_weight: float = 1.0, threads: int = 2) -> Path:
    """One model on every dev row (no test row), the CV-fitted temperature baked in; writes eye_cnn.tflite."""
    from ml.cnn import export_tflite
    from ml.train import bake_temperature, fit_arrays

    dev = devdata.load_dev(data_dir)
    rows = _train_rows(dev, None)
    leaked = set(dev.eyes.group[rows]) & set(dev.eyes.group[dev.test])
    if leaked:
        raise RuntimeError(f"test groups in training: {sorted(leaked)[:3]}")
    model = fit_arrays(dev.eyes.x[rows], dev.eyes.y[rows], seed=SEED, epochs=epochs, width=width,
                       threads=threads, sample_weight=_weights(dev, rows, yawn_weight))
    bake_temperature(model, temperature)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = export_tflite(model, out_dir / "eye_cnn.tflite")
    (out_dir / "final.json").write_text(json.dumps(
        {"epochs": epochs, "width": width, "yawn_weight": yawn_weight, "temperature": temperature, "seed": SEED,
         "train_rows": int(len(rows))}, indent=1))
    return path


def run_test(data_dir: Path, out_dir: Path, *, model_path: Path, sheets: Path | None = None) -> dict:
    """The final test, eye level: the served model on every test eye (patches, face eyes, yawn); ECE + plot."""
    from ml import calibration as cal
    from ml.eye_model import EyeModel

    dev = devdata.load_dev(data_dir)
    model = EyeModel(model_path)
    rows = np.flatnonzero(dev.test)
    p = model.predict(dev.eyes.x[rows])
    y = dev.eyes.y[rows]
    src = dev.eyes.source[rows]
    out: dict = {"model": model.version, "n": int(len(rows))}
    for s in ("cew_eyes", "face_eyes", "yawn"):
        m = src == s
        if s == "face_eyes":
            m &= dev.eyes.visible[rows]
        acc = float(((p[m] >= 0.5) == (y[m] == 1)).mean())
        rec = float((p[m][y[m] == 1] >= 0.5).mean())
        out[s] = {"n": int(m.sum()), "accuracy": round(acc, 4), "recall": round(rec, 4),
                  "ece": round(cal.ece(p[m], y[m]), 4), "errors": int(((p[m] >= 0.5) != (y[m] == 1)).sum())}
    out["ece_all"] = round(cal.ece(p, y), 4)
    if sheets is not None:
        cal.reliability_png({s: (p[src == s], y[src == s]) for s in ("cew_eyes", "face_eyes", "yawn")},
                            sheets / "reliability_test.png", title="final test eyes: predicted P(closed) vs observed")
    (out_dir / "test_eyes.json").write_text(json.dumps(out, indent=1))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.crossval", description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=("cv", "final", "test"))
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--tag", default="base")
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS)
    parser.add_argument("--width", type=int, default=24)
    parser.add_argument("--yawn-weight", type=float, default=1.0)
    parser.add_argument("--sources", default="cew_eyes,face_eyes,yawn")
    parser.add_argument("--temperature", type=float, default=1.0, help="final: from `python -m ml.selection`")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--model", type=Path, default=None, help="test: the model to test (default OUT/eye_cnn.tflite)")
    parser.add_argument("--sheets", type=Path, default=None, help="test: write the reliability plot here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.step == "test":
        res = run_test(args.data, args.out, model_path=args.model or args.out / "eye_cnn.tflite", sheets=args.sheets)
        print(json.dumps(res, indent=1))
        return 0
    if args.step == "cv":
        path = run_cv(args.data, args.out, tag=args.tag, epochs=args.epochs, width=args.width,
                      yawn_weight=args.yawn_weight, sources=tuple(args.sources.split(",")), threads=args.threads)
    else:
        path = run_final(args.data, args.out, temperature=args.temperature, epochs=args.epochs, width=args.width,
                         yawn_weight=args.yawn_weight, threads=args.threads)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
