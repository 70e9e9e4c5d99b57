"""`python -m ml.evaluate` gives the same figures, image by image, as when the checks' registry was introduced.

The fixture set: every real portrait in ../shared/data/real/eyes plus every 60th CEW face, and every 100th
CEW eye patch for `--eyes`; read in place (research data, never copied into the repo). The pinned answers
(tests/ml/pinned_evaluate.json) were written by `python tests/ml/test_evaluate_pinned.py --write` before
the eye check moved onto the registry (ml/detectors/). Scores may move by float noise only.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PINNED = Path(__file__).with_name("pinned_evaluate.json")
SCORE_TOLERANCE = 0.002


def build_fixture_set(shared: Path, out: Path) -> dict[str, Path]:
    """Symlinked folders for both modes: {"photos": DIR, "eyes": DIR}, each with closed/ and open/."""
    sets = {"photos": out / "photos", "eyes": out / "eyes"}
    for label in ("closed", "open"):
        picks = {
            "photos": [("real", p) for p in sorted((shared / "real" / "eyes" / label).iterdir())]
            + [("cew", p) for p in sorted((shared / "faces" / label).iterdir())[::60]],
            "eyes": [("cew", p) for p in sorted((shared / "cew" / "eyes" / label).iterdir())[::100]],
        }
        for mode, files in picks.items():
            folder = sets[mode] / label
            folder.mkdir(parents=True, exist_ok=True)
            for source, path in files:
                os.symlink(path, folder / f"{source}__{path.name}")
    return sets


def answers(directory: Path, *, eyes: bool) -> dict:
    from ml.evaluate import evaluate

    report = evaluate(directory, eyes=eyes)
    summary = {k: v for k, v in report.to_json().items() if k != "images_per_s"}
    items = {f"{it.path.parent.name}/{it.path.name}": [it.predicted, int(it.check), int(it.partly), round(it.score, 4)]
             for it in report.items}
    return {"summary": summary, "items": items}


def test_evaluate_gives_the_pinned_figures(shared_data, tmp_path):
    pinned = json.loads(PINNED.read_text())
    sets = build_fixture_set(shared_data, tmp_path)
    for mode, directory in sets.items():
        run = subprocess.run([sys.executable, "-m", "ml.evaluate", str(directory), "--json", str(tmp_path / "m.json")]
                             + (["--eyes"] if mode == "eyes" else []),
                             cwd=ROOT, capture_output=True, text=True, timeout=180)
        assert run.returncode == 0, run.stderr
        printed = {k: v for k, v in json.loads((tmp_path / "m.json").read_text()).items() if k != "images_per_s"}
        assert printed == pinned[mode]["summary"], mode
        got = answers(directory, eyes=mode == "eyes")["items"]
        assert set(got) == set(pinned[mode]["items"]), mode
        for name, (predicted, check, partly, score) in pinned[mode]["items"].items():
            assert got[name][:3] == [predicted, check, partly], name
            assert got[name][3] == pytest.approx(score, abs=SCORE_TOLERANCE), name


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    import tempfile

    sys.path.insert(0, str(ROOT))
    shared = Path(os.environ.get("EYESPY_SHARED_DATA", ROOT.parent / "shared" / "data"))
    with tempfile.TemporaryDirectory() as tmp:
        sets = build_fixture_set(shared, Path(tmp))
        result = {mode: answers(directory, eyes=mode == "eyes") for mode, directory in sets.items()}
    lines = ["{"]
    for m, (mode, r) in enumerate(sorted(result.items())):
        lines.append(f' "{mode}": {{"summary": {json.dumps(r["summary"], sort_keys=True)}, "items": {{')
        items = sorted(r["items"].items())
        lines += [f"  {json.dumps(k)}: {json.dumps(v)}" + ("," if i < len(items) - 1 else "") for i, (k, v) in enumerate(items)]
        lines.append(" }}" + ("," if m < len(result) - 1 else ""))
    PINNED.write_text("\n".join(lines + ["}"]) + "\n")  # one line per image: readable diffs
    print(f"wrote {PINNED}: " + ", ".join(f"{m} n={r['summary']['n']}" for m, r in result.items()))
