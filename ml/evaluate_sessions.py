"""`python -m ml.evaluate DIR --sessions [--json OUT]`: the eye check with each subject's own eyes, per session.

DIR/<session>/<label>/ holds image files (labels: open, closed, partly; nested folders allowed). Each session's
photos are analysed as the photo task does, the session steps run over their stored details (subjects, each
subject's usual opening), and every photo is judged by the eye check at the default strictness with its
context, and again alone. Per label: n, flagged (rejected), check (sent to check, not flagged), and `caught`
= flagged or check — for open photos `kept` = neither — with the photo-alone figures beside them.

JSON: {"sessions": {session: {label: counts}}, "labels": {label: counts over all sessions}, "unreadable": [...]}
where counts = {"n", "flagged", "check", "caught", "caught_alone", "rate", "rate_alone"}; `rate` is the caught
share (closed, partly) or the kept share (open).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ml.datasets import IMAGE_SUFFIXES

logger = logging.getLogger(__name__)
LABELS = ("open", "closed", "partly")


def session_files(root: Path) -> dict[str, list[tuple[Path, str]]]:
    """Session name -> (file, label) sorted by path; sessions without labelled images are left out."""
    out: dict[str, list[tuple[Path, str]]] = {}
    for session in sorted(p for p in Path(root).iterdir() if p.is_dir()):
        files = [(path, label) for label in LABELS if (session / label).is_dir()
                 for path in sorted((session / label).rglob("*"))
                 if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES]
        if files:
            out[session.name] = sorted(files, key=lambda item: item[0].name)  # file order: a shoot's frame order
    return out


def _counts(rows: list[tuple[str, bool, bool, bool]]) -> dict[str, dict[str, Any]]:
    """rows of (label, flagged, check, caught alone) -> counts per label."""
    out = {}
    for label in LABELS:
        mine = [r for r in rows if r[0] == label]
        if not mine:
            continue
        flagged, check = sum(r[1] for r in mine), sum(r[2] and not r[1] for r in mine)
        caught, alone = flagged + check, sum(r[3] for r in mine)
        n = len(mine)
        rate, rate_alone = (1 - caught / n, 1 - alone / n) if label == "open" else (caught / n, alone / n)
        out[label] = {"n": n, "flagged": flagged, "check": check, "caught": caught, "caught_alone": alone,
                      "rate": round(rate, 4), "rate_alone": round(rate_alone, 4)}
    return out


def evaluate_sessions(root: Path, *, strictness: float = 0.5) -> dict[str, Any]:
    from ml.bursts import analyse_folder
    from ml.detectors import get, run_session_steps

    sessions = session_files(root)
    if not sessions:
        raise ValueError(f"no images under {root}/<session>/{{{','.join(LABELS)}}}")
    blink = get("blink")
    per_session, everything, unreadable = {}, [], []
    for name, files in sessions.items():
        photos, bad = analyse_folder([path for path, _ in files])
        unreadable += [f"{name}/{b}" for b in bad]
        contexts = run_session_steps(photos)
        rows = []
        for index, details in photos.items():
            with_context = blink.judge(details["blink"], strictness, contexts.get(index, {}).get("blink"))
            alone = blink.judge(details["blink"], strictness)
            rows.append((files[index][1], with_context.flagged, with_context.needs_check,
                         alone.flagged or alone.needs_check))
        per_session[name] = _counts(rows)
        everything += rows
    return {"sessions": per_session, "labels": _counts(everything), "unreadable": unreadable}


def format_sessions(report: dict[str, Any]) -> str:
    lines = []
    for name, labels in list(report["sessions"].items()) + [("all sessions", report["labels"])]:
        parts = [f"{label} {c['rate']:.0%} (alone {c['rate_alone']:.0%}, n={c['n']})" for label, c in labels.items()]
        lines.append(f"{name}: " + "   ".join(parts))
    lines.append("rate: open = kept; closed, partly = flagged or sent to check")
    return "\n".join(lines)
