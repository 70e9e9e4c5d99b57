"""`python -m ml.bursts DIR [--json OUT] [--sensitivity S]`: the bursts in a folder of photos, and the best of each.

Every image file directly in DIR (any order, with or without EXIF capture times) is analysed as the photo task
does (faces, eyes, every registered check), then the session steps group them (ml.detectors.bursts: capture
time when every file has one, else file-name order; visual likeness of the frame and of the subject's face and
pose). Prints one line per burst and writes (`--json`):

    {"groups": [{"files": [...], "best": "...", "why": "..."}], "singles": [...]}

with file names as given (relative to DIR), groups in capture order and each group's files in capture order.
Files that can't be read are left out, with a warning on stderr and their names under "unreadable" when any.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from ml.datasets import IMAGE_SUFFIXES

logger = logging.getLogger(__name__)


def image_files(directory: Path) -> list[Path]:
    """The image files directly in `directory`, by name (the order frames have without capture times)."""
    return sorted(p for p in Path(directory).iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def analyse_folder(files: list[Path]) -> tuple[dict[int, dict[str, Any]], list[str]]:
    """Photo index -> every check's stored details (what the worker stores), and the unreadable files."""
    from ml.analysis import analyse
    from ml.detectors import Subject, analyse_all
    from ml.eye_model import load_model
    from ml.imaging import DETAIL_SIDE, ImageError, decode

    model = load_model()
    photos, unreadable = {}, []
    for index, path in enumerate(files):
        try:
            decoded = decode(path, detail_side=DETAIL_SIDE)
            photos[index] = analyse_all(Subject(analysis=analyse(decoded, model=model), image=decoded))
        except (ImageError, OSError) as exc:
            logger.warning("unreadable %s: %s", path.name, exc)
            unreadable.append(path.name)
    return photos, unreadable


def group_photos(photos: dict[Any, dict[str, Any]], names: dict[Any, str], sensitivity: float) -> dict[str, Any]:
    """The CLI's JSON from stored details: every session step, then the bursts at `sensitivity`."""
    from ml.detectors import run_session_steps
    from ml.detectors.bursts import bursts

    contexts = run_session_steps(photos)
    found = bursts(photos, contexts, sensitivity)
    runs: dict[Any, list[Any]] = {}
    for photo_id, ctx in found.items():  # capture order: bursts() gives frames in it
        runs.setdefault(ctx["burst"]["id"], []).append(photo_id)
    groups, singles = [], []
    for members in runs.values():
        if len(members) == 1:
            singles.append(names[members[0]])
            continue
        first = found[members[0]]["burst"]
        groups.append({"files": [names[m] for m in members], "best": names[first["best"]], "why": first["why"]})
    return {"groups": groups, "singles": singles}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.bursts", description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--json", type=Path, default=None, help="write the groups JSON here")
    parser.add_argument("--sensitivity", type=float, default=0.5,
                        help="0..1: higher splits bursts more readily (default 0.5)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not args.directory.is_dir():
        print(f"error: {args.directory} is not a folder", file=sys.stderr)
        return 2
    files = image_files(args.directory)
    photos, unreadable = analyse_folder(files)
    result = group_photos(photos, {i: p.name for i, p in enumerate(files)}, args.sensitivity)
    if unreadable:
        result["unreadable"] = unreadable
    for g in result["groups"]:
        print(f"{g['why']}: {g['best']}  ({', '.join(g['files'])})")
    print(f"singles: {len(result['singles'])}" + (f"   unreadable: {len(unreadable)}" if unreadable else ""))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
