"""Subjects, bursts, best frames and each subject's own eyes, on synthetic sessions made from real photos.

    python bench/bursts_bench.py [--data ../shared/data] [--json bench/results/bursts_bench.json]

Sources: ../shared/data/real (research use only: nothing is written but the JSON). Each person's photos make
one session, shot as bursts: each open source photo gives a burst of 5 frames (2 clean, one blurred, one
squint made by squashing the eye regions vertically, and a blink from the same scene's closed photo when there
is one), each frame jittered (shift <= 2 %, zoom <= 4 %, rotation <= 1 deg, exposure +-12 %). A one-backdrop
pose session splits one photo into 5 poses (as shot, mirrored, tilted +-10 deg, zoomed 1.4x), 4 frames each,
2 s apart, so only the pose can split them. Sessions are judged with capture times (0.4 s within a burst,
2-20 s between) and again without times (similarity alone, in file order).

Measured: pairwise precision / recall of the bursts; best pick right (a clean frame: eyes open, not blurred,
not squinted); subjects (pairwise, all persons pooled in one session); each subject's own eyes on per-person
mini-sessions (12 open frames, 4 squints, closed frames) and on an "always narrow" session (every frame
squinted): squint catch and open keep rates at the default strictness, per person. The burst sensitivity and
RELATIVE_CUT are chosen by leave-one-person-out cross-validation; the table gives mean +- sd over folds.
Speed: the burst check's analyse per photo, and every session step over 600 photos.
"""
from __future__ import annotations

import argparse
import json
import pickle
import random
import statistics
import sys
import time
from itertools import combinations
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
sys.path.insert(0, str(REPO_ROOT))

from ml import verdict  # noqa: E402
from ml.analysis import analyse  # noqa: E402
from ml.detectors import Subject, analyse_all, get, run_session_steps  # noqa: E402
from ml.detectors import bursts as bursts_mod  # noqa: E402
from ml.detectors.subjects import cluster_faces  # noqa: E402
from ml.eye_model import load_model  # noqa: E402
from ml.imaging import DecodedImage  # noqa: E402

DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data"
DEFAULT_JSON = BENCH_DIR / "results" / "bursts_bench.json"
WORK_SIDE = 1280

# Person -> (open photos, closed photos), by file name under real/eyes (one scene where a pair is named alike).
PEOPLE = {
    "jack": (["drowsinessdection__open.jpg", "drowsinessdection__still_images_open.jpg", "drowsinessdection__open3.jpg",
              "drowsinessdection__open4.jpg", "drowsinessdection__open_new.jpg"],
             ["drowsinessdection__closed.jpg", "drowsinessdection__closed_new.jpg"]),
    "colin": (["drowsinessdection__colin_open.jpg"], ["drowsinessdection__colin_closed.jpg"]),
    "fed": (["visint__test2.jpg"], ["visint__fedEyesClosed2.jpg", "visint__fedEyesClosed3.jpg"]),
    "bg": (["visint__bgfront_open.jpg"], ["visint__bgfront_closed.jpg"]),
    "ewan": (["drowsinessdection__ewan.jpg"], []),
    "bry": (["visint__bry.JPG"], []),
    "tian": (["visint__front_tian.jpg"], []),
    "me": (["drowsinessdection__me.jpg", "drowsinessdection__me2.jpg"], ["drowsinessdection__me3.jpg"]),
}
# The closed photo of the same scene as an open one (a blink in that burst).
SAME_SCENE = {"drowsinessdection__open.jpg": "drowsinessdection__closed.jpg",
              "drowsinessdection__open_new.jpg": "drowsinessdection__closed_new.jpg",
              "drowsinessdection__colin_open.jpg": "drowsinessdection__colin_closed.jpg",
              "visint__bgfront_open.jpg": "visint__bgfront_closed.jpg",
              "visint__test2.jpg": "visint__fedEyesClosed2.jpg"}

SQUINTS = (0.45, 0.55, 0.65, 0.55)  # eye apertures squashed to these shares: squints, strong to mild
NARROW = 0.7  # "always narrow": every frame of the session squashed to this
_MODEL = None


def _model():
    global _MODEL
    if _MODEL is None:
        _MODEL = load_model()
    return _MODEL


def load(path: Path) -> Image.Image:
    from ml.imaging import decode
    im = decode(path).image
    ratio = WORK_SIDE / max(im.size)
    return im.resize((round(im.width * ratio), round(im.height * ratio)), Image.Resampling.BILINEAR) if ratio < 1 else im


def jitter(im: Image.Image, rng: random.Random, *, rotate: float = 0.0, zoom: float = 1.0, mirror: bool = False,
           exposure: float = 0.12) -> Image.Image:
    w, h = im.size
    if mirror:
        im = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    angle = rotate + rng.uniform(-1, 1)
    z = zoom * (1.04 + rng.uniform(0, 0.04))  # room for the shift
    dx, dy = rng.uniform(-0.02, 0.02) * w, rng.uniform(-0.02, 0.02) * h
    out = im.rotate(angle, resample=Image.Resampling.BILINEAR, fillcolor=(128, 128, 128))
    cw, ch = w / z, h / z
    x0, y0 = min(max(0.0, (w - cw) / 2 + dx), w - cw), min(max(0.0, (h - ch) / 2 + dy), h - ch)
    out = out.resize((w, h), Image.Resampling.BILINEAR, box=(x0, y0, x0 + cw, y0 + ch))
    return ImageEnhance.Brightness(out).enhance(1 + rng.uniform(-exposure, exposure))


def squint(im: Image.Image, k: float = 0.45) -> Image.Image | None:
    """The eye regions squashed vertically to `k` of their height, the lids' rows stretched over the rest."""
    a = analyse(im, model=_model())
    if not a.faces:
        return None
    arr = np.asarray(im).copy()
    for eye in a.faces[0].eyes:
        b = eye.box
        x0, x1 = int(b.x0 * im.width), int(b.x1 * im.width)
        cy, bh = (b.y0 + b.y1) / 2 * im.height, (b.y1 - b.y0) * im.height * 0.55
        y0, y1 = int(cy - bh / 2), int(cy + bh / 2)
        band = Image.fromarray(arr[y0:y1, x0:x1])
        inner = max(2, round((y1 - y0) * k))
        squashed = np.asarray(band.resize((x1 - x0, inner), Image.Resampling.BILINEAR))
        top = (y1 - y0 - inner) // 2
        new = np.empty_like(arr[y0:y1, x0:x1])
        new[top:top + inner] = squashed
        new[:top] = arr[y0:y0 + 1, x0:x1]  # the upper lid's skin, repeated
        new[top + inner:] = arr[y1 - 1:y1, x0:x1]
        arr[y0:y1, x0:x1] = new
    return Image.fromarray(arr)


def details_of(im: Image.Image, taken=None) -> dict:
    analysis = analyse(im, model=_model())
    decoded = DecodedImage(image=im, original_width=im.width, original_height=im.height, format="JPEG",
                           taken_at=taken, scale=1.0)
    return analyse_all(Subject(analysis=analysis, image=decoded))


def burst_frames(source: Image.Image, closed: Image.Image | None, rng: random.Random, **pose) -> list[tuple[str, Image.Image]]:
    """(kind, frame) for one burst: clean x2, blurred, squint, blink (when a closed photo of the scene exists)."""
    frames = [("clean", jitter(source, rng, **pose)), ("clean", jitter(source, rng, **pose)),
              ("blur", jitter(source, rng, **pose).filter(ImageFilter.GaussianBlur(3)))]
    sq = squint(source)
    if sq is not None:
        frames.append(("squint", jitter(sq, rng, **pose)))
    if closed is not None:
        frames.append(("blink", jitter(closed, rng, **pose)))
    rng.shuffle(frames)
    return frames


def person_session(name: str, real: Path, rng: random.Random) -> list[dict]:
    """Frames of one person's session: {"burst", "kind", "details"}, bursts in order."""
    opens, _ = PEOPLE[name]
    out, burst = [], 0
    # One backdrop, one person, four poses: only the pose can split them (2 s apart). Then a burst per open
    # photo; the first is that photo as shot, a pose of its own.
    source = load(real / "eyes" / "open" / opens[0])
    for pose in ({"rotate": 10.0}, {"mirror": True}, {"zoom": 1.4}, {"rotate": -10.0}):
        for _ in range(4):
            out.append({"burst": f"{name}:{burst}", "kind": "clean", "image": jitter(source, rng, **pose), "pose": True})
        burst += 1
    for file in opens:
        source = load(real / "eyes" / "open" / file)
        closed = load(real / "eyes" / "closed" / SAME_SCENE[file]) if file in SAME_SCENE else None
        for kind, frame in burst_frames(source, closed, rng):
            out.append({"burst": f"{name}:{burst}", "kind": kind, "image": frame})
        burst += 1
    return out


def timed(frames: list[dict], rng: random.Random, with_times: bool) -> dict:
    """Photo id -> stored details, with capture times (0.4 s within a burst; 2 s between poses, 2-20 s else)."""
    from datetime import datetime, timedelta
    t = datetime(2026, 5, 1, 10, 0, 0)
    photos, prev = {}, None
    for i, f in enumerate(frames):
        if prev is not None:
            gap = 0.4 if f["burst"] == prev["burst"] else (2.0 if f.get("pose") else rng.uniform(2, 20))
            t += timedelta(seconds=gap)
        details = dict(f["details"])
        details["burst"] = dict(details["burst"], taken_at=t.isoformat() if with_times else None)
        photos[i] = details
        prev = f
    return photos


def pairwise(truth: list, predicted: list) -> tuple[int, int, int]:
    tp = fp = fn = 0
    for i, j in combinations(range(len(truth)), 2):
        same_t, same_p = truth[i] == truth[j], predicted[i] == predicted[j]
        tp += same_t and same_p
        fp += same_p and not same_t
        fn += same_t and not same_p
    return tp, fp, fn


def score_bursts(sessions: dict[str, tuple[list[dict], dict]], sensitivity: float) -> dict:
    tp = fp = fn = 0
    best_ok = best_n = 0
    for frames, photos in sessions.values():
        ctx = run_session_steps(photos)
        ctx = bursts_mod.bursts(photos, ctx, sensitivity)
        ids = [ctx[i]["burst"]["id"] for i in range(len(frames))]
        a, b, c = pairwise([f["burst"] for f in frames], ids)
        tp, fp, fn = tp + a, fp + b, fn + c
        for i, f in enumerate(frames):
            if ctx[i]["burst"]["rank"] == 1 and ctx[i]["burst"]["size"] > 1:
                members = [k for k in range(len(frames)) if ids[k] == ids[i]]
                if any(frames[k]["kind"] == "clean" for k in members) and len({frames[k]["kind"] for k in members}) > 1:
                    best_n += 1
                    best_ok += f["kind"] == "clean"
    return {"precision": tp / max(tp + fp, 1), "recall": tp / max(tp + fn, 1), "best_right": best_ok / max(best_n, 1),
            "best_n": best_n}


def _subjects(groups: list[list[str]], frames_by_person: dict, same_person: float) -> dict:
    """Pairwise precision / recall of the subjects found in sessions pooling each group's people (mean over
    the sessions), and how many subjects each session got for how many people."""
    rows = []
    for names in groups:
        pooled, truth = {}, []
        for name in names:
            for f in frames_by_person[name]:
                pooled[len(pooled)] = f["details"]
                truth.append(name)
        labels = cluster_faces(pooled, same_person)
        predicted = [labels[i][0] if labels[i] else f"none{i}" for i in range(len(truth))]
        tp, fp, fn = pairwise(truth, predicted)
        rows.append((tp / max(tp + fp, 1), tp / max(tp + fn, 1), len(set(predicted)) / len(names)))
    return {"precision": round(statistics.mean(r[0] for r in rows), 3),
            "recall": round(statistics.mean(r[1] for r in rows), 3),
            "subjects_per_person": round(statistics.mean(r[2] for r in rows), 2), "sessions": len(rows)}


def f1(r: dict) -> float:
    return 2 * r["precision"] * r["recall"] / max(r["precision"] + r["recall"], 1e-9)


def mean_sd(values: list[float]) -> str:
    return f"{statistics.mean(values):.3f} ± {statistics.pstdev(values):.3f}" if values else "n/a"


def eyes_session(name: str, real: Path, rng: random.Random, *, narrow: bool = False) -> list[dict]:
    """A person's mini-session: 12 open frames, 4 squints and their closed frames (all squinted if `narrow`)."""
    opens, closeds = PEOPLE[name]
    sources = [load(real / "eyes" / "open" / f) for f in opens]
    out = []
    for i in range(12):
        src = sources[i % len(sources)]
        if narrow:
            src = squint(src, NARROW) or src
        out.append({"kind": "narrow" if narrow else "open", "image": jitter(src, rng)})
    for i, k in enumerate(SQUINTS):
        src = sources[i % len(sources)]
        sq = squint(squint(src, NARROW) or src, k) if narrow else squint(src, k)
        if sq is not None:
            out.append({"kind": "squint", "image": jitter(sq, rng)})
    for f in closeds:
        out.append({"kind": "closed", "image": jitter(load(real / "eyes" / "closed" / f), rng)})
    return out


def judge_eyes(frames: list[dict], cut: float) -> dict[str, list[bool]]:
    """kind -> flagged (or sent to check) per frame, subject-relative at `cut`, and photo-alone."""
    photos = {i: f["details"] for i, f in enumerate(frames)}
    ctx = run_session_steps(photos)
    blink = get("blink")
    saved = verdict.RELATIVE_CUT
    verdict.RELATIVE_CUT = cut
    try:
        out: dict[str, list[bool]] = {}
        for i, f in enumerate(frames):
            finding = blink.judge(photos[i]["blink"], 0.5, ctx.get(i, {}).get("blink"))
            alone = blink.judge(photos[i]["blink"], 0.5)
            out.setdefault(f["kind"], []).append(finding.flagged or finding.needs_check)
            out.setdefault(f["kind"] + "_alone", []).append(alone.flagged or alone.needs_check)
            out.setdefault(f["kind"] + "_added", []).append((finding.flagged or finding.needs_check)
                                                             and not (alone.flagged or alone.needs_check))
        return out
    finally:
        verdict.RELATIVE_CUT = saved


def made_frames(real: Path, rng: random.Random, cache: Path | None) -> tuple[dict, dict]:
    """The burst sessions' and the eye sessions' frames, analysed (stored details only, no pixels kept)."""
    if cache and cache.exists():
        return pickle.loads(cache.read_bytes())
    started = time.perf_counter()
    frames_by_person = {name: person_session(name, real, rng) for name in PEOPLE}
    eye_sessions = {(name, narrow): eyes_session(name, real, rng, narrow=narrow) for name in PEOPLE
                    for narrow in (False, True)}
    for frames in list(frames_by_person.values()) + list(eye_sessions.values()):
        for f in frames:
            f["details"] = details_of(f.pop("image"))
    n = sum(map(len, frames_by_person.values())) + sum(map(len, eye_sessions.values()))
    print(f"made and analysed {n} frames in {time.perf_counter() - started:.0f}s")
    if cache:
        cache.write_bytes(pickle.dumps((frames_by_person, eye_sessions)))
    return frames_by_person, eye_sessions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    parser.add_argument("--cache", type=Path, default=None,
                        help="keep the analysed frames' details here (a pickle outside the repo) to re-run fast")
    args = parser.parse_args(argv)
    real = args.data / "real"
    rng = random.Random(22)
    report: dict = {}

    # Bursts and best frames, per person.
    frames_by_person, eye_sessions = made_frames(real, rng, args.cache)
    sessions = {(name, times): (frames, timed(frames, random.Random(name), times))
                for name, frames in frames_by_person.items() for times in (True, False)}
    grid = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
    folds = []
    for held in PEOPLE:
        train = {k: v for k, v in sessions.items() if k[0] != held}
        best_s = max(grid, key=lambda s: (round(f1(score_bursts(train, s)), 4), -abs(s - 0.5)))
        test = score_bursts({k: v for k, v in sessions.items() if k[0] == held}, best_s)
        folds.append({"person": held, "sensitivity": best_s, **test})
    report["bursts_cv"] = folds
    report["bursts_default"] = {times: score_bursts({k: v for k, v in sessions.items() if k[1] == times}, 0.5)
                                for times in (True, False)}
    report["bursts_by_sensitivity"] = {s: score_bursts(sessions, s) for s in grid}

    # Subjects: each person alone, every two people together, and all eight pooled into one session.
    report["subjects"] = {
        str(thr): {
            "one_person": _subjects([[n] for n in PEOPLE], frames_by_person, thr),
            "two_people": _subjects([list(p) for p in combinations(PEOPLE, 2)], frames_by_person, thr),
            "all_pooled": _subjects([list(PEOPLE)], frames_by_person, thr),
        } for thr in (0.35, 0.45, 0.55, 0.65)}

    # Each subject's own eyes.
    cuts = [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85]

    def balanced(keys, cut):
        caught, kept = [], []
        for k in keys:
            r = judge_eyes(eye_sessions[k], cut)
            caught += r.get("squint", []) if not k[1] else []
            kept += [not x for x in r.get("open", []) + r.get("narrow_added", [])]
        return (np.mean(caught) if caught else 0) / 2 + (np.mean(kept) if kept else 0) / 2

    eye_folds = []
    for held in PEOPLE:
        train = [k for k in eye_sessions if k[0] != held]
        best_cut = max(cuts, key=lambda c: (round(balanced(train, c), 4), -abs(c - 0.7)))
        plain, narrow = judge_eyes(eye_sessions[(held, False)], best_cut), judge_eyes(eye_sessions[(held, True)], best_cut)
        eye_folds.append({"person": held, "cut": best_cut,
                          "squint_caught": float(np.mean(plain["squint"])) if plain.get("squint") else None,
                          "squint_caught_alone": float(np.mean(plain["squint_alone"])) if plain.get("squint") else None,
                          "open_kept": float(1 - np.mean(plain["open"])),
                          "closed_caught": float(np.mean(plain["closed"])) if plain.get("closed") else None,
                          "narrow_kept": float(1 - np.mean(narrow["narrow_added"])),
                          "narrow_squint_caught": float(np.mean(narrow["squint"])) if narrow.get("squint") else None})
    report["eyes_cv"] = eye_folds

    # Speed: the burst check's analyse per photo; every session step over 600 photos.
    burst = get("burst")
    src = load(real / "eyes" / "open" / "drowsinessdection__open.jpg")
    a = analyse(src, model=_model())
    subject = Subject(analysis=a, image=DecodedImage(image=src, original_width=src.width, original_height=src.height,
                                                     format="JPEG", taken_at=None, scale=1.0))
    for _ in range(3):
        burst.analyse(subject)
    times = []
    for _ in range(30):
        t = time.perf_counter()
        burst.analyse(subject)
        times.append((time.perf_counter() - t) * 1000)
    all_frames = [f for frames in frames_by_person.values() for f in frames]
    big = {i: all_frames[i % len(all_frames)]["details"] for i in range(600)}
    steps_ms = []
    for _ in range(3):
        t = time.perf_counter()
        run_session_steps(big)
        steps_ms.append((time.perf_counter() - t) * 1000)
    report["speed"] = {"burst_analyse_ms_median": round(statistics.median(times), 2),
                       "burst_analyse_ms_max": round(max(times), 2), "session_steps_600_ms": round(min(steps_ms), 1)}

    _print(report)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
    return 0


def _print(report: dict) -> None:
    cv = report["bursts_cv"]
    print("bursts, leave-one-person-out (sensitivity chosen on the others):")
    for row in cv:
        print(f"  {row['person']:>6}: s={row['sensitivity']}  precision {row['precision']:.3f}  recall {row['recall']:.3f}"
              f"  best right {row['best_right']:.3f} (n={row['best_n']})")
    print(f"  mean ± sd: precision {mean_sd([r['precision'] for r in cv])}  recall {mean_sd([r['recall'] for r in cv])}"
          f"  best right {mean_sd([r['best_right'] for r in cv])}")
    for times, r in report["bursts_default"].items():
        print(f"  default sensitivity, {'with' if times else 'without'} times: precision {r['precision']:.3f} "
              f"recall {r['recall']:.3f} best right {r['best_right']:.3f} (n={r['best_n']})")
    print("subjects (pairwise precision / recall, subjects found per person), by SAME_PERSON:")
    for thr, kinds in report["subjects"].items():
        print(f"  {thr}: " + "   ".join(f"{kind} {r['precision']:.3f} / {r['recall']:.3f} ({r['subjects_per_person']})"
                                       for kind, r in kinds.items()))
    print("subject's own eyes, leave-one-person-out (cut chosen on the others):")
    for row in report["eyes_cv"]:
        print(f"  {row['person']:>6}: cut={row['cut']}  squints caught {row['squint_caught']}"
              f" (alone {row['squint_caught_alone']})  open kept {row['open_kept']:.3f}"
              f"  closed caught {row['closed_caught']}  always-narrow: kept {row['narrow_kept']:.3f},"
              f" its squints caught {row['narrow_squint_caught']}")
    e = report["eyes_cv"]
    print(f"  mean ± sd: squints caught {mean_sd([r['squint_caught'] for r in e if r['squint_caught'] is not None])}"
          f"  (alone {mean_sd([r['squint_caught_alone'] for r in e if r['squint_caught_alone'] is not None])})"
          f"  open kept {mean_sd([r['open_kept'] for r in e])}  narrow kept {mean_sd([r['narrow_kept'] for r in e])}")
    print(f"speed: {report['speed']}")


if __name__ == "__main__":
    sys.exit(main())
