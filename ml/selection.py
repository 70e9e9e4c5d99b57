"""Model selection on out-of-fold predictions: calibration, openness fusion, cut-offs, the check band.

    python -m ml.selection --data ../shared/data --cv /tmp/cv [--tag base] [--sheets DIR]

Reads the out-of-fold logits `ml.crossval cv` wrote. Every choice is made again inside each
outer fold — fitted on the other folds' out-of-fold predictions, scored on the held fold — so
each number printed is on data its choice never saw; mean ± sd over the folds. Prints markdown
tables for MODEL_CARD.md, writes OUT/selection.json, a reliability plot and error contact sheets.
Pure numpy + Pillow.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ml import calibration as cal
from ml import devdata, openness
from ml.types import Thresholds

CNN_WEIGHTS = (1.0, 0.75, 0.5, 0.25, 0.0)
BANDS = (0.0, 0.04, 0.08, 0.12, 0.16, 0.2, 0.25, 0.3)
PARTLY_OPEN_SHARE = 0.10  # the partly cut-off: the least open 10 % of open-labelled eyes (above the closed cut)
TARGET_REST_ACCURACY = 0.995
SUSPECTS = "faces/cew_open_suspects.csv"


def ms(values: list[float]) -> str:
    v = np.asarray(values, np.float64)
    return f"{v.mean():.4f} ± {v.std(ddof=1) if len(v) > 1 else 0.0:.4f}"


@dataclass
class Faces:
    """Face-level arrays for the CEW faces (2 eye rows each; -1 where an eye is missing)."""

    label: np.ndarray
    fold: np.ndarray
    rows: np.ndarray  # int [F, 2]
    items: list[str]
    suspect: np.ndarray


def face_arrays(dev: devdata.DevData, suspects: set[str]) -> Faces:
    rows = np.full((len(dev.faces), 2), -1)
    for i, f in enumerate(dev.faces):
        rows[i, :len(f.rows)] = f.rows[:2]
    fold = np.asarray([dev.fold[f.rows[0]] if f.rows else -2 for f in dev.faces])
    return Faces(label=np.asarray([f.label for f in dev.faces]), fold=fold, rows=rows,
                 items=[f.item for f in dev.faces], suspect=np.asarray([f.item in suspects for f in dev.faces]))


def eye_raw_openness(dev: devdata.DevData, p: np.ndarray, w: float) -> np.ndarray:
    """Raw fused openness per eye row (lid aperture where measured)."""
    ap = np.clip((dev.eyes.lid_ratio - openness.APERTURE_SHUT) / (openness.APERTURE_OPEN - openness.APERTURE_SHUT), 0, 1)
    fused = w * (1 - p) + (1 - w) * ap
    return np.where(np.isfinite(dev.eyes.lid_ratio) & (dev.eyes.lid_ratio > 0), fused, 1 - p)


def face_closedness(faces: Faces, dev: devdata.DevData, closedness: np.ndarray) -> np.ndarray:
    """Max closedness over each face's visible eyes; NaN when none is visible."""
    out = np.full(len(faces.label), np.nan)
    for j in range(2):
        r = faces.rows[:, j]
        ok = (r >= 0)
        vis = np.zeros(len(r), bool)
        vis[ok] = dev.eyes.visible[r[ok]]
        c = np.full(len(r), np.nan)
        c[vis] = closedness[r[vis]]
        out = np.fmax(out, c)
    return out


def best_cut(score: np.ndarray, y: np.ndarray) -> float:
    """Cut on a closedness score maximising accuracy (closed if score >= cut); NaN score = open."""
    s = np.where(np.isfinite(score), score, -1.0)
    best, best_acc = 0.5, -1.0
    for c in np.linspace(0.05, 0.95, 181):
        acc = float(((s >= c) == (y == 1)).mean())
        if acc > best_acc + 1e-12 or (abs(acc - best_acc) <= 1e-12 and abs(c - 0.5) < abs(best - 0.5)):
            best, best_acc = float(c), acc
    return best


def one_se_choice(scores: dict[float, list[float]]) -> float:
    """The most lid-weighted fusion (smallest CNN weight) whose mean accuracy is within one standard error
    of the best: the aperture is what makes openness move through a squint, so it is preferred unless
    it measurably costs accuracy."""
    means = {w: float(np.mean(v)) for w, v in scores.items()}
    best = max(means, key=lambda w: (means[w], w))
    v = np.asarray(scores[best])
    se = float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else 0.0
    return min(w for w in scores if means[w] >= means[best] - se)


def _acc_rec(pred: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    return float((pred == (y == 1)).mean()), float(pred[y == 1].mean()) if (y == 1).any() else float("nan")


def run(data_dir: Path, cv_dir: Path, tag: str = "base", sheets: Path | None = None) -> dict:
    dev = devdata.load_dev(data_dir)
    with np.load(cv_dir / f"oof_{tag}.npz") as z:
        logit, done = z["logit"], sorted(int(k) for k in z["done"])
    e = dev.eyes
    if len(done) < int(dev.fold.max()) + 1:  # a preview while cross-validation still runs
        print(f"PREVIEW: only folds {done} are done")
        dev.fold = np.where(np.isin(dev.fold, done), dev.fold, np.where(dev.fold >= 0, -3, dev.fold))
    dev_rows = dev.fold >= 0
    if not np.isfinite(logit[dev_rows]).all():
        raise SystemExit("cross-validation incomplete: some dev rows have no out-of-fold logit")
    import csv

    with open(data_dir / SUSPECTS) as fh:
        suspects = {row["file"].split("/")[-1] for row in csv.DictReader(fh)}
    faces = face_arrays(dev, suspects)
    k_folds = len(done)
    out: dict = {"tag": tag, "folds": k_folds, "n_dev_eyes": int(dev_rows.sum()), "n_dev_faces": int((faces.fold >= 0).sum())}
    lines: list[str] = []

    # ---- A. calibration, fitted on the other folds
    temps, ece_raw, ece_t, ece_iso = [], [], [], []
    ece_src: dict[str, list[float]] = {}
    p_cal = np.full(len(e), np.nan)
    p_iso = np.full(len(e), np.nan)
    for k in done:
        tr, held = dev_rows & (dev.fold != k), dev.fold == k
        t = cal.fit_temperature(logit[tr], e.y[tr])
        iso = cal.fit_isotonic(cal.sigmoid(logit[tr]), e.y[tr])
        temps.append(t)
        p_cal[held] = cal.sigmoid(logit[held] / t)
        p_iso[held] = cal.apply_isotonic(cal.sigmoid(logit[held]), iso)
        ece_raw.append(cal.ece(cal.sigmoid(logit[held]), e.y[held]))
        ece_t.append(cal.ece(p_cal[held], e.y[held]))
        ece_iso.append(cal.ece(p_iso[held], e.y[held]))
        for s in ("cew_eyes", "face_eyes", "yawn"):
            m = held & (e.source == s)
            ece_src.setdefault(s, []).append(cal.ece(p_cal[m], e.y[m]))
    t_all = cal.fit_temperature(logit[dev_rows], e.y[dev_rows])
    nll_raw = [cal.nll(cal.sigmoid(logit[dev.fold == k]), e.y[dev.fold == k]) for k in done]
    nll_t = [cal.nll(p_cal[dev.fold == k], e.y[dev.fold == k]) for k in done]
    out["calibration_nll"] = {"raw": ms(nll_raw), "temperature": ms(nll_t)}
    out["calibration"] = {"temperature_per_fold": [round(t, 3) for t in temps], "temperature_all_dev": round(t_all, 3),
                          "ece_raw": ms(ece_raw), "ece_temperature": ms(ece_t), "ece_isotonic": ms(ece_iso),
                          "ece_temperature_by_source": {s: ms(v) for s, v in ece_src.items()}}
    lines += ["### Calibration (eye level, ECE with 15 bins, fitted on 4 folds, scored on the 5th)", "",
              "| probabilities | ECE mean ± sd |", "|---|---|",
              f"| raw sigmoid | {ms(ece_raw)} |", f"| temperature (T = {np.mean(temps):.2f} ± {np.std(temps, ddof=1):.2f}) | {ms(ece_t)} |",
              f"| isotonic | {ms(ece_iso)} |",
              f"| log loss: raw {ms(nll_raw)}, temperature {ms(nll_t)} | |"] + [f"| temperature, {s} only | {ms(v)} |" for s, v in ece_src.items()] + [""]
    if sheets:
        cal.reliability_png({"raw": (cal.sigmoid(logit[dev_rows]), e.y[dev_rows]),
                             "temperature": (p_cal[dev_rows], e.y[dev_rows]),
                             "isotonic": (p_iso[dev_rows], e.y[dev_rows])},
                            sheets / "reliability_cv.png", title="out-of-fold eyes: predicted P(closed) vs observed")

    # ---- B. eye accuracy per source (threshold 0.5 = logit 0)
    lines += ["### Eyes (out-of-fold, P(closed) >= 0.5)", "", "| source | n | accuracy | closed recall |", "|---|---|---|---|"]
    out["eyes"] = {}
    for s in ("cew_eyes", "face_eyes", "yawn"):
        accs, recs = [], []
        for k in done:
            m = (dev.fold == k) & (e.source == s)
            a, r = _acc_rec(logit[m] >= 0, e.y[m])
            accs.append(a)
            recs.append(r)
        out["eyes"][s] = {"accuracy": ms(accs), "recall": ms(recs)}
        lines.append(f"| {s} | {int((dev_rows & (e.source == s)).sum())} | {ms(accs)} | {ms(recs)} |")
    lines.append("")

    # ---- C. openness fusion weight and the closed cut, face level
    lines += ["### Faces end to end: openness fusion (closed cut fitted on the other folds)", "",
              "| CNN weight in openness | face accuracy | closed recall | fitted raw cut |", "|---|---|---|---|"]
    out["fusion"] = {}
    per_w: dict[float, list[float]] = {}
    for w in CNN_WEIGHTS:
        raw = eye_raw_openness(dev, p_cal, w)
        fc = face_closedness(faces, dev, 1 - raw)
        accs, recs, cuts = [], [], []
        for k in done:
            tr, held = (faces.fold >= 0) & (faces.fold != k), faces.fold == k
            c = best_cut(fc[tr], faces.label[tr])
            pred = np.where(np.isfinite(fc[held]), fc[held], -1) >= c
            a, r = _acc_rec(pred, faces.label[held])
            accs.append(a)
            recs.append(r)
            cuts.append(c)
        per_w[w] = accs
        out["fusion"][str(w)] = {"accuracy": ms(accs), "recall": ms(recs), "cut": ms(cuts)}
        lines.append(f"| {w} | {ms(accs)} | {ms(recs)} | {1 - np.mean(cuts):.3f} (raw openness) |")
    # Nested: the weight chosen on the other folds' faces by the one-standard-error rule (below), scored on this one.
    nested_acc, nested_rec, chosen_w = [], [], []
    for k in done:
        tr_f = (faces.fold >= 0) & (faces.fold != k)
        inner: dict[float, list[float]] = {}
        for w in CNN_WEIGHTS:
            fc = face_closedness(faces, dev, 1 - eye_raw_openness(dev, p_cal, w))
            for j in done:  # inner CV over the remaining folds
                if j == k:
                    continue
                itr, iheld = tr_f & (faces.fold != j), faces.fold == j
                c = best_cut(fc[itr], faces.label[itr])
                inner.setdefault(w, []).append(
                    float(((np.where(np.isfinite(fc[iheld]), fc[iheld], -1) >= c) == (faces.label[iheld] == 1)).mean()))
        w = one_se_choice(inner)
        fc = face_closedness(faces, dev, 1 - eye_raw_openness(dev, p_cal, w))
        c = best_cut(fc[tr_f], faces.label[tr_f])
        held = faces.fold == k
        a, r = _acc_rec(np.where(np.isfinite(fc[held]), fc[held], -1) >= c, faces.label[held])
        nested_acc.append(a)
        nested_rec.append(r)
        chosen_w.append(w)
    out["fusion"]["nested"] = {"accuracy": ms(nested_acc), "recall": ms(nested_rec), "chosen": chosen_w}
    lines += [f"| nested choice (weights chosen per fold: {chosen_w}) | {ms(nested_acc)} | {ms(nested_rec)} | |", ""]

    # Final constants: chosen on all dev faces (what ships).
    w_final = one_se_choice(per_w)
    raw = eye_raw_openness(dev, p_cal, w_final)
    fc_raw = face_closedness(faces, dev, 1 - raw)
    dev_f = faces.fold >= 0
    cut_final = best_cut(fc_raw[dev_f], faces.label[dev_f])
    raw_closed_cut = 1 - cut_final
    has_lid = np.isfinite(e.lid_ratio) & (e.lid_ratio > 0)
    open_eyes = dev_rows & (e.y == 0) & e.visible & has_lid
    above = raw[open_eyes][raw[open_eyes] >= raw_closed_cut]
    raw_partly_cut = float(np.quantile(above, PARTLY_OPEN_SHARE)) if len(above) else raw_closed_cut + 0.2
    crop_open = dev_rows & (e.y == 0) & (e.source != "face_eyes")
    crop_raw = 1 - p_cal[crop_open]
    crop_partly_cut = float(np.quantile(crop_raw[crop_raw >= 0.5], PARTLY_OPEN_SHARE))
    out["openness_constants"] = {"CNN_WEIGHT": w_final, "RAW_CLOSED_CUT": round(raw_closed_cut, 4),
                                 "RAW_PARTLY_CUT": round(raw_partly_cut, 4),
                                 "CROP_PARTLY_CUT": round(crop_partly_cut, 4),
                                 "TEMPERATURE": round(t_all, 4)}

    # ---- D. states on the served scale, with the CV-fitted constants (fitted per fold)
    scale = np.vectorize(openness.to_scale)
    served = np.full(len(e), np.nan)
    for k in done:
        tr, held = (faces.fold >= 0) & (faces.fold != k), faces.fold == k
        rraw = eye_raw_openness(dev, p_cal, w_final)
        fc = face_closedness(faces, dev, 1 - rraw)
        rc = 1 - best_cut(fc[tr], faces.label[tr])
        tr_eyes = dev_rows & (dev.fold != k) & (e.y == 0) & e.visible & np.isfinite(e.lid_ratio) & (e.lid_ratio > 0)
        ab = rraw[tr_eyes][rraw[tr_eyes] >= rc]
        rp = float(np.quantile(ab, PARTLY_OPEN_SHARE))
        lid = np.isfinite(e.lid_ratio) & (e.lid_ratio > 0)
        m = (dev.fold == k) & lid
        served[m] = scale(rraw[m], closed_cut=rc, partly_cut=rp)
        tr_crops = dev_rows & (dev.fold != k) & (e.y == 0) & ~lid
        craw = 1 - p_cal[tr_crops]
        cp = float(np.quantile(craw[craw >= 0.5], PARTLY_OPEN_SHARE))
        m = (dev.fold == k) & ~lid
        served[m] = scale(1 - p_cal[m], closed_cut=0.5, partly_cut=cp)
    states = np.where(served < 0.5, "closed", np.where(served < 0.7, "partly", "open"))
    lines += ["### Eye states at the default strictness (out-of-fold, face eyes)", "",
              "| eyes | n | open | partly closed | closed |", "|---|---|---|---|---|"]
    susp_rows = np.zeros(len(e), bool)
    for f_i in np.flatnonzero(faces.suspect & (faces.fold >= 0)):
        for r in faces.rows[f_i]:
            if r >= 0:
                susp_rows[r] = True
    groups_for_states = [("open-labelled", dev_rows & (e.source == "face_eyes") & (e.y == 0) & ~susp_rows & e.visible),
                         ("squint suspects (labelled open, re-annotated blink)", susp_rows & e.visible),
                         ("closed-labelled", dev_rows & (e.source == "face_eyes") & (e.y == 1) & e.visible),
                         ("bare crops (CEW patches + yawn), open-labelled", dev_rows & (e.source != "face_eyes") & (e.y == 0)),
                         ("bare crops, closed-labelled", dev_rows & (e.source != "face_eyes") & (e.y == 1))]
    out["states"] = {}
    for name, m in groups_for_states:
        n = int(m.sum())
        share = {s: float((states[m] == s).mean()) if n else 0.0 for s in ("open", "partly", "closed")}
        out["states"][name] = {"n": n, **{s: round(v, 4) for s, v in share.items()}}
        lines.append(f"| {name} | {n} | {share['open']:.3f} | {share['partly']:.3f} | {share['closed']:.3f} |")
    lines.append("")

    # ---- E. the check band: share sent to check vs accuracy on the rest (face level)
    fcs = face_closedness(faces, dev, 1 - served)
    hidden = ~np.isfinite(fcs)
    det = np.full(len(faces.label), 1.0)
    for i, f in enumerate(dev.faces):
        if f.rows:
            det[i] = float(np.nanmin([e.det_score[r] for r in f.rows]))
    doubtful = det < 0.6
    pred_all = np.where(hidden, -1, fcs) >= 0.5
    lines += ["### Check group trade-off (faces, out-of-fold; cut-off 0.5 on 1 - openness)", "",
              "| band | sent to check | accuracy on the rest | closed recall on the rest | accuracy of the checked |",
              "|---|---|---|---|---|"]
    out["check"] = {}
    for band in BANDS:
        shares, rest_acc, rest_rec, chk_acc = [], [], [], []
        for k in done:
            held = faces.fold == k
            chk = held & (hidden | doubtful | (np.abs(np.where(hidden, -9, fcs) - 0.5) < band))
            rest = held & ~chk
            shares.append(chk.sum() / held.sum())
            a, r = _acc_rec(pred_all[rest], faces.label[rest])
            rest_acc.append(a)
            rest_rec.append(r)
            chk_acc.append(float((pred_all[chk] == (faces.label[chk] == 1)).mean()) if chk.any() else float("nan"))
        out["check"][str(band)] = {"share": ms(shares), "rest_accuracy": ms(rest_acc), "rest_recall": ms(rest_rec)}
        lines.append(f"| {band:.2f} | {ms(shares)} | {ms(rest_acc)} | {ms(rest_rec)} | {np.nanmean(chk_acc):.3f} |")
    lines.append("")

    # ---- E2. the strictness slider on the same faces
    lines += ["### Strictness slider (out-of-fold faces): share judged BLINKING", "",
              "| strictness | closed cut | partly cut (counts?) | closed-labelled | open-labelled | squint suspects |",
              "|---|---|---|---|---|---|"]
    out["strictness"] = {}
    fv = np.where(hidden, -1, fcs)
    for st in (0.0, 0.25, 0.5, 0.75, 1.0):
        t = Thresholds.from_strictness(st)
        cut = t.partly if t.partly_counts else t.closed
        blink = fv >= cut
        dv = faces.fold >= 0
        cells = [float(blink[dv & (faces.label == 1)].mean()), float(blink[dv & (faces.label == 0) & ~faces.suspect].mean()),
                 float(blink[dv & faces.suspect].mean()) if (dv & faces.suspect).any() else float("nan")]
        out["strictness"][str(st)] = cells
        lines.append(f"| {st:.2f} | {t.closed} | {t.partly} ({'yes' if t.partly_counts else 'no'}) | "
                     + " | ".join(f"{c:.3f}" for c in cells) + " |")
    lines.append("")

    # ---- F. eye crops (--eyes) check band on P(closed)
    lines += ["### Check band on bare eye crops (`--eyes`, |P(closed) - 0.5| < band)", "",
              "| band | cew_eyes to check | accuracy on rest | yawn to check | accuracy on rest |", "|---|---|---|---|---|"]
    for band in BANDS:
        cells = []
        for s in ("cew_eyes", "yawn"):
            shares, accs = [], []
            for k in done:
                m = (dev.fold == k) & (e.source == s)
                chk = m & (np.abs(p_cal - 0.5) < band)
                rest = m & ~chk
                shares.append(chk.sum() / m.sum())
                accs.append(float(((p_cal[rest] >= 0.5) == (e.y[rest] == 1)).mean()))
            cells += [ms(shares), ms(accs)]
        lines.append(f"| {band:.2f} | " + " | ".join(cells) + " |")
    lines.append("")

    if sheets:
        _sheets(dev, faces, data_dir, served, fcs, sheets)
    out["markdown"] = "\n".join(lines)
    return out


def _sheets(dev, faces, data_dir: Path, served, fcs, sheets: Path) -> None:
    """Contact sheets: wrong face verdicts (out-of-fold), and the squint suspects with their openness."""
    from PIL import Image, ImageDraw

    def sheet(items: list[tuple[Path, str]], path: Path, cell: int = 100, cols: int = 10) -> None:
        if not items:
            return
        rows = (len(items) + cols - 1) // cols
        img = Image.new("RGB", (cols * cell, rows * (cell + 24)), "white")
        d = ImageDraw.Draw(img)
        for i, (p, text) in enumerate(items):
            with Image.open(p) as im:
                im = im.convert("RGB")
                im.thumbnail((cell, cell))
            x, y = (i % cols) * cell, (i // cols) * (cell + 24)
            img.paste(im, (x, y))
            for j, t in enumerate(text.split("\n")[:2]):
                d.text((x + 2, y + cell + 1 + 11 * j), t[:18], fill=(0, 0, 0))
        path.parent.mkdir(parents=True, exist_ok=True)
        img.save(path)

    def path_of(i: int) -> Path:
        cls = "closed" if faces.label[i] else "open"
        return data_dir / "faces" / cls / faces.items[i]

    def eyes_text(i: int) -> str:
        vals = [f"{served[r]:.2f}" if dev.eyes.visible[r] else "nv" for r in faces.rows[i] if r >= 0]
        return "open " + "/".join(vals)

    wrong = [i for i in np.flatnonzero(faces.fold >= 0)
             if (np.nan_to_num(fcs[i], nan=-1) >= 0.5) != bool(faces.label[i])]
    wrong.sort(key=lambda i: -abs(np.nan_to_num(fcs[i], nan=0) - 0.5))
    sheet([(path_of(i), f"{'CLOSED' if faces.label[i] else 'OPEN'} lbl\n{eyes_text(i)}") for i in wrong],
          sheets / "face_errors_cv.png")
    susp = [i for i in np.flatnonzero(faces.suspect)]
    sheet([(path_of(i), f"suspect\n{eyes_text(i)}") for i in susp], sheets / "squint_suspects.png")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.selection", description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--cv", required=True, type=Path, help="folder with oof_<tag>.npz from ml.crossval cv")
    parser.add_argument("--tag", default="base")
    parser.add_argument("--sheets", type=Path, default=None, help="write reliability plot and contact sheets here")
    args = parser.parse_args(argv)
    out = run(args.data, args.cv, args.tag, args.sheets)
    print(out["markdown"])
    print(json.dumps({k: v for k, v in out.items() if k != "markdown"}, indent=1))
    (args.cv / f"selection_{args.tag}.json").write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
