"""`python -m ml.evaluate DIR --sharpness [--json OUT]`: the focus and motion checks on a labelled folder.

DIR holds any of sharp/, defocus/ and motion/ (images may be nested; any size, with or without faces). Each
photo goes the worker's way (ml.decode with the detail image, ml.analyse, every registered check) and is
judged at the default strictness, each folder as one session for the focus reference. Prints and writes
{"n", "blur_recall" (share of defocus + motion photos flagged by focus or motion), "sharp_false_flags" (the
number of sharp photos flagged), "defocus_named" / "motion_named" (shares of those flagged with the right
kind: focus alone / motion), "check" (photos sent to check), "confusion" (truth -> called -> count)}.
"""
from __future__ import annotations

import logging
from pathlib import Path

logger = logging.getLogger(__name__)

KINDS = ("sharp", "defocus", "motion")
SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".heic", ".heif"}


def _files(directory: Path) -> list[tuple[Path, str]]:
    return [(p, kind) for kind in KINDS if (directory / kind).is_dir()
            for p in sorted((directory / kind).rglob("*")) if p.suffix.lower() in SUFFIXES and p.is_file()]


def evaluate_sharpness(directory: str | Path, *, model_path: str | Path | None = None) -> dict:
    from ml.analysis import analyse
    from ml.detectors import Subject, get
    from ml.detectors.focus_reference import FOCUS_REFERENCE
    from ml.eye_model import load_model
    from ml.imaging import DETAIL_SIDE, ImageError, decode

    files = _files(Path(directory))
    if not files:
        raise ValueError(f"no images under {directory}/sharp, /defocus or /motion")
    model = load_model(model_path)
    focus, motion = get("focus"), get("motion")
    stored: dict[int, tuple[str, dict, dict]] = {}
    for i, (path, kind) in enumerate(files):
        try:
            decoded = decode(path, detail_side=DETAIL_SIDE)
        except (ImageError, OSError) as exc:
            logger.warning("unreadable %s: %s", path, exc)
            continue
        subject = Subject(analysis=analyse(decoded, model=model), image=decoded)
        stored[i] = (kind, focus.analyse(subject), motion.analyse(subject))
    contexts: dict = {}
    for kind in KINDS:  # each folder is one session
        contexts.update(FOCUS_REFERENCE.run({i: {"focus": f} for i, (k, f, _) in stored.items() if k == kind}, {}))
    confusion = {kind: {"sharp": 0, "defocus": 0, "motion": 0} for kind in KINDS}
    check = 0
    for i, (kind, f_details, m_details) in stored.items():
        f = focus.judge(f_details, 0.5, (contexts.get(i) or {}).get("focus"))
        m = motion.judge(m_details, 0.5)
        called = "motion" if m.flagged else "defocus" if f.flagged else "sharp"
        confusion[kind][called] += 1
        check += f.needs_check or m.needs_check
    blurred = sum(sum(confusion[k].values()) for k in ("defocus", "motion"))
    caught = sum(confusion[k]["defocus"] + confusion[k]["motion"] for k in ("defocus", "motion"))

    def named(kind: str) -> float | None:
        flagged = confusion[kind]["defocus"] + confusion[kind]["motion"]
        return round(confusion[kind][kind] / flagged, 4) if flagged else None

    return {"n": len(stored), "blur_recall": round(caught / blurred, 4) if blurred else None,
            "sharp_false_flags": confusion["sharp"]["defocus"] + confusion["sharp"]["motion"],
            "defocus_named": named("defocus"), "motion_named": named("motion"), "check": check,
            "confusion": confusion}


def format_sharpness(report: dict) -> str:
    lines = [f"n: {report['n']}   blur_recall: {report['blur_recall']}   sharp_false_flags: {report['sharp_false_flags']}",
             f"defocus_named: {report['defocus_named']}   motion_named: {report['motion_named']}   check: {report['check']}",
             "confusion (truth -> called sharp / defocus / motion):"]
    for kind, row in report["confusion"].items():
        lines.append(f"  {kind:>8}: {row['sharp']:>4} {row['defocus']:>4} {row['motion']:>4}")
    return "\n".join(lines)
