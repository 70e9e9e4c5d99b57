"""Flag rates of the focus, motion and framing checks on synthetic degradations of sharp real photos.

    python bench/flags_bench.py [--data ../shared/data] [--json bench/results/flags_bench.json] [--megapixels 24]

Each sharp source photo (real/eyes/open, real/bursts, real/blur/sharp; duplicates by content dropped) is first
brought to a common scale (its eye ~48 px wide = regions.EYE_WIDTH, never enlarged), degraded there, then
stored as a q92 JPEG at its own size (--megapixels enlarges, which only softens) and run through the worker's path: ml.decode (the working image;
--detail adds the 1/2-scale detail image),
ml.analyse, every registered check. So sigma and kernel lengths below are px at that scale (sigma 2 = 4 % of
the eye's width). Degradations: Gaussian sigma in {0.5,1,1.5,2,3,4} on the face only / everything / the
background only; motion kernels 5/10/20/40 px at a random angle on everything / the subject only; ISO-like
noise; and (at --framing-megapixels) crops that cut the forehead or chin, lower the eye line, shrink the face,
tilt it or push it to an edge.

Thresholds (focus BLUR_LIMIT, motion MOTION_LIMIT) are chosen by grouped cross-validation (group = source
photo, leave-one-group-out): each fold picks the limit on the other sources and is scored on its own; the
table gives mean +- sd over folds. The data is research-use only: nothing is written but the JSON.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
sys.path.insert(0, str(REPO_ROOT))

DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data"
DEFAULT_JSON = BENCH_DIR / "results" / "flags_bench.json"
SIGMAS = (0.5, 1, 1.5, 2, 3, 4)
KERNELS = (5, 10, 20, 40)
NOISE = (4, 8, 12)  # grey-level std at the common scale (ISO ~800 / 3200 / 6400-like)
EYE_SCALE = 48
SEED = 20261207


# Sources that are not sharp themselves (looked at, at 100 %): their "sharp" variants would be false truth.
NOT_SHARP = {"visint__bry.JPG": "the original is visibly smeared (camera or subject motion)"}


def _sources(data: Path) -> list[Path]:
    seen, out = set(), []
    for folder in ("real/eyes/open", "real/bursts", "real/blur/sharp"):
        for path in sorted((data / folder).rglob("*")):
            if path.suffix.lower() in (".jpg", ".jpeg", ".png") and path.is_file() and path.name not in NOT_SHARP:
                digest = hashlib.sha1(path.read_bytes()).hexdigest()
                if digest not in seen:
                    seen.add(digest)
                    out.append(path)
    return out


def _face_mask(size: tuple[int, int], box, feather: float) -> Image.Image:
    """The face and hair (the face box grown) as a feathered ellipse, 255 inside."""
    w, h = size
    x0, y0, x1, y1 = box.x0 * w, box.y0 * h, box.x1 * w, box.y1 * h
    fw, fh = x1 - x0, y1 - y0
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).ellipse((x0 - 0.25 * fw, y0 - 0.45 * fh, x1 + 0.25 * fw, y1 + 0.15 * fh), fill=255)
    return mask.filter(ImageFilter.GaussianBlur(feather))


def _motion(im: Image.Image, length: int, angle: float) -> Image.Image:
    """A straight smear of `length` px at `angle` degrees: rotate, horizontal box blur, rotate back."""
    w, h = im.size
    big = im.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
    big = big.filter(ImageFilter.BoxBlur(((length - 1) / 2, 0)))
    back = big.rotate(-angle, resample=Image.Resampling.BICUBIC, expand=True)
    left, top = (back.width - w) // 2, (back.height - h) // 2
    return back.crop((left, top, left + w, top + h))


def _noisy(im: Image.Image, std: float, rng: np.random.Generator) -> Image.Image:
    a = np.asarray(im, np.float32)
    grain = rng.normal(0, std, a.shape[:2])[..., None] + rng.normal(0, std * 0.4, a.shape)
    return Image.fromarray(np.clip(a + grain, 0, 255).astype(np.uint8))


def _as_camera_jpeg(im: Image.Image, megapixels: float) -> bytes:
    """A q92 JPEG at `megapixels` (0: as it is). Enlarging makes no detail: the worker's 1600 px working image
    of a 7x-enlarged source is itself an enlargement, softer than any real photo, so the accuracy runs
    keep the source's size and speed runs (ml_bench) use real camera-size files."""
    big = im
    if megapixels:
        ratio = math.sqrt(megapixels * 1e6 / (im.width * im.height))
        big = im.resize((round(im.width * ratio), round(im.height * ratio)), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    big.save(buf, format="JPEG", quality=92)
    return buf.getvalue()


DETAIL = {"side": 0}  # --detail: the 1/2-scale detail image; by default the worker's path (working image only)


def _run_checks(jpeg: bytes, model) -> dict:
    import ml
    from ml.detectors import Subject, analyse_all
    from ml.imaging import decode

    decoded = decode(jpeg, detail_side=DETAIL["side"])
    analysis = ml.analyse(decoded, model=model)
    details = analyse_all(Subject(analysis=analysis, image=decoded))
    details.pop("blink", None)
    return details


def _variants(base: Image.Image, box, rng: np.random.Generator):
    """(kind, region, level, image, truth) at the common scale; truth: 'sharp', 'defocus', 'motion' or None."""
    mask = _face_mask(base.size, box, feather=max(2.0, base.width / 200))
    inverse = Image.eval(mask, lambda v: 255 - v)
    yield "sharp", "none", 0, base, "sharp"
    for sigma in SIGMAS:
        blurred = base.filter(ImageFilter.GaussianBlur(sigma))
        truth = "defocus" if sigma >= 2 else ("sharp" if sigma <= 0.7 else None)
        yield "gauss", "face", sigma, Image.composite(blurred, base, mask), truth
        yield "gauss", "all", sigma, blurred, truth
        yield "gauss", "background", sigma, Image.composite(blurred, base, inverse), "sharp"
    for length in KERNELS:
        angle = float(rng.uniform(0, 180))
        smeared = _motion(base, length, angle)
        truth = "motion" if length >= 15 else None
        yield "motion", "all", length, smeared, truth
        yield "motion", "subject", length, Image.composite(smeared, base, mask), truth
    for std in NOISE:
        yield "noise", "all", std, _noisy(base, std, rng), "sharp"


def _framing_crops(base: Image.Image, geometry: dict):
    """(rule expected or 'fine', image): crops placed from the source's eye line and eye distance (px)."""
    ye, xe, iod = geometry["ye"], geometry["xe"], geometry["iod"]
    fill = tuple(int(v) for v in np.asarray(base).reshape(-1, 3).mean(axis=0))

    def window(top: float, bottom: float, cx: float = xe, aspect: float = 0.8) -> Image.Image:
        height = bottom - top
        width = height * aspect
        box = (round(cx - width / 2), round(top), round(cx + width / 2), round(bottom))
        canvas = Image.new("RGB", (box[2] - box[0], box[3] - box[1]), fill)  # beyond the source: a flat backdrop
        canvas.paste(base.crop(box), (0, 0))
        return canvas

    yield "fine", window(ye - 2.9 * iod, ye + 5.4 * iod)
    yield "forehead", window(ye - 0.6 * iod, ye + 6.0 * iod)
    yield "chin", window(ye - 2.4 * iod, ye + 1.2 * iod, aspect=1.2)
    yield "eye_line", window(ye - 6.0 * iod, ye + 3.2 * iod)
    yield "small", window(ye - 12 * iod, ye + 22 * iod)
    yield "tilt", window(ye - 2.9 * iod, ye + 5.4 * iod).rotate(25, resample=Image.Resampling.BICUBIC, fillcolor=fill)
    yield "edge", window(ye - 2.9 * iod, ye + 5.4 * iod, cx=xe + 3.0 * iod)


FRAMING_WORDS = {"forehead": "forehead", "chin": "chin cut", "eye_line": "eye line", "small": "small",
                 "tilt": "tilted", "edge": "edge"}


def collect(data: Path, megapixels: float, framing_megapixels: float, limit: int | None) -> tuple[list, list]:
    import ml

    model = ml.load_model()
    items, framing = [], []
    for n, path in enumerate(_sources(data)[:limit]):
        with Image.open(path) as im:
            source = im.convert("RGB")
        analysis = ml.analyse(source, model=model)
        faces = [f for f in analysis.faces if f.is_subject]
        if not faces:
            print(f"  {path.name}: no face, skipped", flush=True)
            continue
        face = max(faces, key=lambda f: f.size_px)
        eye_px = max((e.width_px or 0) for e in face.eyes) or face.size_px / 4
        scale = min(1.0, EYE_SCALE / eye_px)
        base = source.resize((round(source.width * scale), round(source.height * scale)), Image.Resampling.LANCZOS)
        rng = np.random.default_rng([SEED, n])
        t0 = time.perf_counter()
        for kind, region, level, image, truth in _variants(base, face.box, rng):
            items.append({"group": path.name, "kind": kind, "region": region, "level": level, "truth": truth,
                          "details": _run_checks(_as_camera_jpeg(image, megapixels), model)})
        centres = [((e.box.x0 + e.box.x1) / 2 * base.width, (e.box.y0 + e.box.y1) / 2 * base.height) for e in face.eyes]
        (xa, ya), (xb, yb) = sorted(centres)
        geometry = {"ye": (ya + yb) / 2, "xe": (xa + xb) / 2, "iod": math.hypot(xb - xa, yb - ya)}
        for rule, image in _framing_crops(base, geometry):
            framing.append({"group": path.name, "rule": rule,
                            "details": _run_checks(_as_camera_jpeg(image, framing_megapixels), model)})
        print(f"  {path.name}: eye {eye_px:.0f} px -> x{scale:.2f}, {time.perf_counter() - t0:.0f}s", flush=True)
    return items, framing


def _judged(items: list, focus_limit: float | None = None, motion_limit: float | None = None,
            with_session: bool = False) -> list[dict]:
    from ml.detectors import focus, motion
    from ml.detectors.focus_reference import FOCUS_REFERENCE

    saved = focus.BLUR_LIMIT, motion.MOTION_LIMIT
    focus.BLUR_LIMIT = focus_limit or saved[0]
    motion.MOTION_LIMIT = motion_limit or saved[1]
    try:
        contexts = {}
        if with_session:  # each source's variants are one session
            for group in {it["group"] for it in items}:
                photos = {i: {"focus": it["details"]["focus"]} for i, it in enumerate(items) if it["group"] == group}
                contexts.update(FOCUS_REFERENCE.run(photos, {}))
        out = []
        for i, it in enumerate(items):
            f = focus.FOCUS.judge(it["details"]["focus"], 0.5, (contexts.get(i) or {}).get("focus"))
            m = motion.MOTION.judge(it["details"]["motion"], 0.5)
            out.append({"focus": f.flagged, "motion": m.flagged, "check": f.needs_check or m.needs_check,
                        "applies": f.applies})
        return out
    finally:
        focus.BLUR_LIMIT, motion.MOTION_LIMIT = saved


def _rate(rows: list[tuple[dict, dict]], pred) -> float | None:
    return round(sum(pred(j) for _, j in rows) / len(rows), 4) if rows else None


def _scores(items: list, judged: list) -> dict:
    pairs = list(zip(items, judged))
    flagged = lambda j: j["focus"] or j["motion"]  # noqa: E731
    face_soft = [p for p in pairs if p[0]["kind"] == "gauss" and p[0]["region"] in ("face", "all") and p[0]["level"] >= 2]
    sharp = [p for p in pairs if p[0]["truth"] == "sharp"]
    moving = [p for p in pairs if p[0]["truth"] == "motion"]
    moving_flagged = [p for p in moving if flagged(p[1])]
    soft_flagged = [p for p in face_soft if flagged(p[1])]
    return {"face_sigma_ge_2_flagged": _rate(face_soft, flagged),
            "sharp_false_flags": _rate(sharp, flagged),
            "background_only_false_flags": _rate([p for p in sharp if p[0]["region"] == "background"], flagged),
            "noise_false_flags": _rate([p for p in sharp if p[0]["kind"] == "noise"], flagged),
            "motion_ge_15_flagged": _rate(moving, flagged),
            "motion_named": _rate(moving_flagged, lambda j: j["motion"]),
            "defocus_named": _rate(soft_flagged, lambda j: j["focus"] and not j["motion"])}


def _choose(items: list, candidates: list[float], key: str) -> float:
    """The limit a fold picks on its training sources: the most sensitive one whose false flags on sharp
    photos stay <= 1 % (focus: face sigma >= 2 recall; motion: kernels >= 15 recall, ties to the larger limit)."""
    best, best_recall = candidates[-1], -1.0
    for limit in candidates:
        judged = _judged(items, **{key: limit})
        s = _scores(items, judged)
        recall = s["face_sigma_ge_2_flagged"] if key == "focus_limit" else s["motion_ge_15_flagged"]
        if (s["sharp_false_flags"] or 0) <= 0.01 and (recall or 0) > best_recall:
            best, best_recall = limit, recall or 0
    return best


def cross_validate(items: list) -> dict:
    groups = sorted({it["group"] for it in items})
    focus_grid = [round(1.2 + 0.1 * k, 2) for k in range(16)]
    motion_grid = [round(3.0 + 0.5 * k, 2) for k in range(14)]
    folds = []
    for g in groups:
        train = [it for it in items if it["group"] != g]
        test = [it for it in items if it["group"] == g]
        fl = _choose(train, focus_grid, "focus_limit")
        ml_ = _choose(train, motion_grid, "motion_limit")
        folds.append({"group": g, "focus_limit": fl, "motion_limit": ml_,
                      **_scores(test, _judged(test, fl, ml_))})
    summary = {}
    for key in folds[0]:
        if key == "group":
            continue
        values = [f[key] for f in folds if f[key] is not None]
        summary[key] = {"mean": round(statistics.mean(values), 4),
                        "sd": round(statistics.stdev(values), 4) if len(values) > 1 else 0.0, "n": len(values)}
    return {"folds": folds, "summary": summary}


def per_level(items: list, judged: list) -> list[dict]:
    rows: dict[tuple, list] = {}
    for it, j in zip(items, judged):
        rows.setdefault((it["kind"], it["region"], it["level"]), []).append(j)
    return [{"kind": k, "region": r, "level": lv, "n": len(js),
             "flagged": round(sum(j["focus"] or j["motion"] for j in js) / len(js), 3),
             "focus": round(sum(j["focus"] for j in js) / len(js), 3),
             "motion": round(sum(j["motion"] for j in js) / len(js), 3),
             "check": round(sum(j["check"] for j in js) / len(js), 3)}
            for (k, r, lv), js in sorted(rows.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2]))]


def framing_scores(framing: list) -> dict:
    from ml.detectors import get

    check = get("framing")
    right, rows = 0, []
    for it in framing:
        f = check.judge(it["details"]["framing"])
        expected = it["rule"]
        ok = (not f.flagged and f.applies) if expected == "fine" else (
            f.flagged and FRAMING_WORDS[expected] in f.sentence.lower())
        right += ok
        rows.append({"group": it["group"], "rule": expected, "right": ok, "sentence": f.sentence})
    by_rule = {}
    for r in rows:
        by_rule.setdefault(r["rule"], []).append(r["right"])
    return {"right": round(right / len(rows), 4) if rows else None, "n": len(rows),
            "by_rule": {k: round(sum(v) / len(v), 3) for k, v in by_rule.items()},
            "wrong": [r for r in rows if not r["right"]]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    parser.add_argument("--megapixels", type=float, default=0.0, help="enlarge to this size first (0: keep the "
                                                                      "source's size; enlarging only softens)")
    parser.add_argument("--framing-megapixels", type=float, default=6.0, help="framing is geometry: smaller is enough")
    parser.add_argument("--limit", type=int, default=None, help="at most this many source photos")
    parser.add_argument("--cache", type=Path, default=None, help="keep the measured details here (outside the repo) "
                                                                 "and reuse them: re-judging needs no re-analysis")
    parser.add_argument("--detail", action="store_true", help="measure on the 1/2-scale detail image "
                                                                   "(not what the worker does by default)")
    args = parser.parse_args(argv)
    if args.detail:
        from ml.imaging import DETAIL_SIDE

        DETAIL["side"] = DETAIL_SIDE
    if not (args.data / "real").is_dir():
        print(f"no {args.data}/real: nothing to measure", file=sys.stderr)
        return 2
    started = time.perf_counter()
    if args.cache and args.cache.is_file():
        items, framing = json.loads(args.cache.read_text())
        items = [it for it in items if it["group"] not in NOT_SHARP]
        framing = [it for it in framing if it["group"] not in NOT_SHARP]
    else:
        items, framing = collect(args.data, args.megapixels, args.framing_megapixels, args.limit)
        if args.cache:
            args.cache.write_text(json.dumps([items, framing]))
    cv = cross_validate(items)
    judged = _judged(items)
    result = {"sources": len({it["group"] for it in items}), "items": len(items), "megapixels": args.megapixels,
              "detail_image": bool(args.detail),
              "cross_validated": cv["summary"], "folds": cv["folds"],
              "at_committed_limits": _scores(items, judged),
              "at_committed_limits_with_session_reference": _scores(items, _judged(items, with_session=True)),
              "per_level": per_level(items, judged), "framing": framing_scores(framing),
              "seconds": round(time.perf_counter() - started, 1)}
    print(f"{'kind':<7}{'region':<11}{'level':>6}{'n':>4}{'flagged':>9}{'focus':>7}{'motion':>8}{'check':>7}")
    for row in result["per_level"]:
        print(f"{row['kind']:<7}{row['region']:<11}{row['level']:>6}{row['n']:>4}{row['flagged']:>9.2f}"
              f"{row['focus']:>7.2f}{row['motion']:>8.2f}{row['check']:>7.2f}")
    print("cross-validated (leave one source out), mean +- sd over folds:")
    for key, v in cv["summary"].items():
        print(f"  {key:<32} {v['mean']:.3f} +- {v['sd']:.3f}  (n={v['n']})")
    print("at the committed limits:", json.dumps(result["at_committed_limits"]))
    print("with the session reference:", json.dumps(result["at_committed_limits_with_session_reference"]))
    print("framing right:", result["framing"]["right"], result["framing"]["by_rule"])
    args.json.parent.mkdir(parents=True, exist_ok=True)
    # The per-item details stay out of the JSON: they are measurements of research-only photos.
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
