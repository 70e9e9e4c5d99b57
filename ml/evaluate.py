"""Evaluate on a labelled folder: `python -m ml.evaluate DIR [--eyes] [--json FILE] [--model PATH]`.

(`--sharpness`: the focus and motion checks, ml.evaluate_sharpness; `--sessions`: DIR/<session>/<label>/ judged
with each subject's own eyes, ml.evaluate_sessions.)

DIR holds closed/ and open/ (images may be nested below them). Positive class = closed (BLINKING).
Default mode runs the full `ml.analyse` pipeline on every image (photos or face crops of any
size); a photo where no face is found counts as a NOT_BLINKING prediction and is also counted
in `no_face`. `--eyes` treats every image as an eye crop and runs only the CNN.

Prints n, accuracy, precision, recall, F1, the confusion matrix, images/s, how many images read
partly closed and how many went to the "check these" group (with the accuracy on the rest), and the
worst errors by file name; `--json` writes {"n","accuracy","precision","recall","f1","tp","fp","tn",
"fn","no_face","images_per_s","partly","check"}. `partly`: images whose deciding face (the subject face the eye check went by) has a partly closed
eye (eye mode: crops that read partly closed); `check`: images sent to the check group (eye mode: crops
whose closedness is within the check band of the cut-off).
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ml import datasets
from ml.metrics import Metrics, binary_metrics

logger = logging.getLogger(__name__)

# Face crops smaller than this (short side, px) are padded and upscaled before analysis when the
# plain pass finds no face: the detector wants context around a face and some pixels in it.
SMALL_IMAGE_SIDE = 256


@dataclass(frozen=True)
class ItemResult:
    path: Path
    truth: int  # 1 = closed
    predicted: int  # 1 = closed (BLINKING)
    score: float  # P(closed) behind the prediction (max over the subject eyes in face mode)
    note: str = ""  # the analysis reason, or "" in eye mode
    no_face: bool = False
    partly: bool = False  # the main face (eye mode: the crop) has a partly closed eye
    check: bool = False  # sent to the "check these" group


@dataclass(frozen=True)
class EvalReport:
    metrics: Metrics
    no_face: int
    images_per_s: float
    seconds: float
    mode: str
    model_version: str
    items: list[ItemResult] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        """The documented JSON: exactly these keys."""
        m = self.metrics.to_dict()
        return {
            "n": m["n"], "accuracy": m["accuracy"], "precision": m["precision"], "recall": m["recall"],
            "f1": m["f1"], "tp": m["tp"], "fp": m["fp"], "tn": m["tn"], "fn": m["fn"],
            "no_face": self.no_face, "images_per_s": round(self.images_per_s, 2),
            "partly": self.partly, "check": self.check,
        }

    @property
    def partly(self) -> int:
        return sum(it.partly for it in self.items)

    @property
    def check(self) -> int:
        return sum(it.check for it in self.items)

    def rest_metrics(self) -> Metrics:
        """Metrics over the items not sent to the check group."""
        rest = [it for it in self.items if not it.check]
        return binary_metrics(np.array([it.truth for it in rest]), np.array([it.predicted for it in rest]))

    def worst_errors(self, limit: int = 15) -> list[ItemResult]:
        """Misclassified items, most confidently wrong first."""
        wrong = [it for it in self.items if it.predicted != it.truth]
        return sorted(wrong, key=lambda it: abs(it.score - it.truth), reverse=True)[:limit]


class EvaluationError(ValueError):
    """The folder to evaluate is missing or holds no labelled images."""


def _eye_crop(path: Path, size: int) -> np.ndarray:
    with Image.open(path) as im:
        gray = im.convert("L")
        if gray.size != (size, size):
            gray = gray.resize((size, size), Image.BILINEAR)
        return np.asarray(gray, dtype=np.uint8)


def evaluate_eyes(files: list[tuple[Path, int]], *, model_path: str | Path | None = None,
                  threshold: float = 0.5) -> EvalReport:
    """Every image is an eye crop: resize to the CNN input and classify."""
    from ml.eye_model import load_model
    from ml.openness import openness
    from ml.types import EyeState, Thresholds
    from ml.verdict import eye_state, near_cut

    cut = Thresholds().closed
    model = load_model(model_path)
    started = time.perf_counter()
    crops, kept, unreadable = [], [], []
    for path, label in files:
        try:
            crops.append(_eye_crop(path, model.input_size))
            kept.append((path, label))
        except (OSError, ValueError) as exc:
            logger.warning("unreadable %s: %s", path, exc)
            unreadable.append(str(path))
    p = model.predict(np.stack(crops)) if crops else np.zeros((0,), np.float32)
    seconds = time.perf_counter() - started
    items = []
    for (path, label), score in zip(kept, p):
        closedness = 1.0 - openness(float(score))  # a bare crop has no lid outline: openness from the CNN
        items.append(ItemResult(path=path, truth=label, predicted=int(score >= threshold), score=float(score),
                                partly=eye_state(closedness, Thresholds()) is EyeState.PARTLY_CLOSED,
                                check=near_cut(closedness, cut)))
    metrics = binary_metrics(np.array([it.truth for it in items]), np.array([it.predicted for it in items]))
    return EvalReport(metrics=metrics, no_face=0, images_per_s=len(items) / seconds if seconds else 0.0,
                      seconds=seconds, mode="eyes", model_version=model.version, items=items, unreadable=unreadable)


def _padded_upscaled(image: Image.Image) -> Image.Image:
    """A small face crop on a wider canvas (edge colour), upscaled: what the detector expects."""
    rgb = image.convert("RGB")
    w, h = rgb.size
    side = int(max(w, h) * 1.8)
    arr = np.asarray(rgb)
    pad_y, pad_x = (side - h) // 2, (side - w) // 2
    padded = np.pad(arr, ((pad_y, side - h - pad_y), (pad_x, side - w - pad_x), (0, 0)), mode="edge")
    scale = max(1, int(np.ceil(SMALL_IMAGE_SIDE * 2 / side)))
    out = Image.fromarray(padded)
    return out.resize((side * scale, side * scale), Image.BICUBIC) if scale > 1 else out


def _subject_p(analysis: object) -> float:
    """The highest P(closed) over the subject faces' visible eyes (0.0 when none)."""
    best = 0.0
    for face in getattr(analysis, "faces", ()):
        if not face.is_subject:
            continue
        for eye in face.eyes:
            if eye.state.value != "not_visible":
                best = max(best, float(eye.p_closed))
    return best


def evaluate_photos(files: list[tuple[Path, int]], *, model_path: str | Path | None = None,
                    strictness: float = 0.5) -> EvalReport:
    """Run the full analysis on every image and judge it with the registered eye check ("blink") at
    `strictness`; a photo the check can't judge (no face) counts as NOT_BLINKING and as no_face."""
    from ml.analysis import analyse
    from ml.detectors import Subject, get
    from ml.eye_model import load_model
    from ml.imaging import ImageError
    from ml.types import EyeState, Thresholds

    blink = get("blink")
    thresholds = Thresholds.from_strictness(strictness)
    model = load_model(model_path)
    items: list[ItemResult] = []
    unreadable: list[str] = []
    no_face = 0
    started = time.perf_counter()
    for path, label in files:
        try:
            result = analyse(path, model=model, thresholds=thresholds)
            if not result.faces:
                with Image.open(path) as im:
                    if min(im.size) < SMALL_IMAGE_SIDE:
                        result = analyse(_padded_upscaled(im), model=model, thresholds=thresholds)
        except (ImageError, OSError) as exc:
            logger.warning("unreadable %s: %s", path, exc)
            unreadable.append(str(path))
            continue
        finding = blink.judge(blink.analyse(Subject(analysis=result)), strictness)
        no_face += not finding.applies
        main_eyes = result.faces[finding.face_index].eyes if finding.face_index is not None else ()
        items.append(ItemResult(path=path, truth=label, predicted=int(finding.flagged),
                                score=_subject_p(result), note=finding.sentence, no_face=not finding.applies,
                                partly=any(e.state is EyeState.PARTLY_CLOSED for e in main_eyes),
                                check=finding.needs_check))
    seconds = time.perf_counter() - started
    metrics = binary_metrics(np.array([it.truth for it in items]), np.array([it.predicted for it in items]))
    return EvalReport(metrics=metrics, no_face=no_face, images_per_s=len(items) / seconds if seconds else 0.0,
                      seconds=seconds, mode="photos", model_version=model.version, items=items,
                      unreadable=unreadable)


def evaluate(directory: str | Path, *, eyes: bool = False, model_path: str | Path | None = None) -> EvalReport:
    """Evaluate the model on DIR/closed and DIR/open (see the module doc)."""
    files = datasets.list_labelled_files(Path(directory))
    if not files:
        raise EvaluationError(f"no images under {directory}/closed or {directory}/open")
    if eyes:
        return evaluate_eyes(files, model_path=model_path)
    return evaluate_photos(files, model_path=model_path)


def format_report(report: EvalReport, *, root: Path | None = None, worst: int = 15) -> str:
    lines = [f"mode: {report.mode}   model: {report.model_version}", report.metrics.summary(),
             f"no_face: {report.no_face}   images/s: {report.images_per_s:.1f}   ({report.seconds:.1f}s)"]
    rest = report.rest_metrics()
    share = report.check / report.metrics.n if report.metrics.n else 0.0
    lines.append(f"partly: {report.partly}   check: {report.check} ({share:.1%}; on the other {rest.n}: "
                 f"accuracy={rest.accuracy:.4f} recall={rest.recall:.4f})")
    if report.unreadable:
        lines.append(f"unreadable (not counted): {len(report.unreadable)}")
    errors = report.worst_errors(worst)
    if errors:
        lines.append(f"worst errors ({len(errors)} of {report.metrics.fp + report.metrics.fn}):")
        for it in errors:
            name = it.path.relative_to(root) if root and it.path.is_relative_to(root) else it.path
            truth = "closed" if it.truth else "open"
            extra = (f"  {it.note}" if it.note else "") + ("  [check]" if it.check else "")
            lines.append(f"  {truth:>6}  p_closed={it.score:.2f}  {name}{extra}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, help="folder with closed/ and open/ (--sharpness: sharp/, defocus/, motion/)")
    parser.add_argument("--sharpness", action="store_true", help="evaluate the focus and motion checks instead")
    parser.add_argument("--sessions", action="store_true",
                        help="DIR/<session>/{open,closed,partly}/: judge each session with its subjects' own eyes")
    parser.add_argument("--eyes", action="store_true", help="images are eye crops: run only the CNN")
    parser.add_argument("--json", type=Path, default=None, help="write the metrics JSON here")
    parser.add_argument("--model", type=Path, default=None, help="eye model .tflite (default: the committed one)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.sharpness:
        return _main_sharpness(args)
    if args.sessions:
        return _main_sessions(args)
    try:
        report = evaluate(args.directory, eyes=args.eyes, model_path=args.model)
    except (EvaluationError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_report(report, root=args.directory))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report.to_json(), indent=2) + "\n")
    return 0


def _main_sharpness(args: argparse.Namespace) -> int:
    from ml.evaluate_sharpness import evaluate_sharpness, format_sharpness

    return _report(lambda: evaluate_sharpness(args.directory, model_path=args.model), format_sharpness, args,
                   ValueError)


def _main_sessions(args: argparse.Namespace) -> int:
    from ml.evaluate_sessions import evaluate_sessions, format_sessions

    return _report(lambda: evaluate_sessions(args.directory), format_sessions, args, (ValueError, OSError))


def _report(run, fmt, args: argparse.Namespace, errors) -> int:
    """Run one of the extra evaluations, print it, write --json; a bad folder is a readable error (exit 2)."""
    try:
        report = run()
    except errors as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(fmt(report))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
