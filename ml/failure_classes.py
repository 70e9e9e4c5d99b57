"""The known failure classes, made on purpose from labelled faces and run through the full pipeline.

    python -m ml.failure_classes --data ../shared/data --faces test [--model PATH] [--limit N] [--sheets DIR]

Each class is a seeded, deterministic change to a CEW face (which keeps its open/closed label):
  blur         Gaussian blur (radius 1.6 px on the 100 px face): soft focus / motion
  low_light    gamma 2.4 darkening, then sensor noise
  glare        a bright specular blob over one eye (glasses / lens glare)
  sunglasses   dark lenses over both eyes (nothing to judge: should be "check", not a verdict)
  mask         a blue surgical-style mask over the lower face (the eyes stay visible)
  small_face   the face shrunk to 44 px wide inside a 480 px frame of edge colour (a group photo's face)
  one_eye      closed faces keep one closed eye; the other eye region is pasted from an open face
               of the same set (label stays closed: one eye shut is a blink)
Per class it reports accuracy, closed recall, the share sent to check, the accuracy on the rest,
and how many faces were lost (no face / eyes not visible). `--faces test` uses the final test
split (ml.devdata), `dev` the cross-validation side.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from ml import datasets, devdata

CLASSES = ("none", "blur", "low_light", "glare", "sunglasses", "mask", "small_face", "one_eye")


def _eye_centres(img: Image.Image) -> list[tuple[float, float, float]] | None:
    """(x, y, eye width) of the two eyes of the largest face, in img px, or None."""
    from ml.analysis import upscale_small
    from ml.faces import find_faces

    work = upscale_small(img)
    k = img.width / work.width
    faces = find_faces(work, max_faces=1)
    if not faces:
        return None
    out = []
    for eye in faces[0].eyes:
        (ox, oy), (ix, iy) = eye.outer, eye.inner
        out.append(((ox + ix) / 2 * k, (oy + iy) / 2 * k, eye.width * k))
    return out


def transform(img: Image.Image, cls: str, rng: np.random.Generator, *, donor: Image.Image | None = None) -> Image.Image:
    img = img.convert("RGB")
    w, h = img.size
    if cls == "none":
        return img
    if cls == "blur":
        return img.filter(ImageFilter.GaussianBlur(radius=1.6 * w / 100))
    if cls == "low_light":
        x = np.asarray(img, np.float32) / 255.0
        x = 255.0 * x ** 2.4 * 0.8 + rng.normal(0, 4.0, x.shape)
        return Image.fromarray(np.clip(x, 0, 255).astype(np.uint8))
    if cls == "small_face":
        side, face = 480, 44
        canvas = Image.new("RGB", (side, side), tuple(int(v) for v in np.asarray(img)[0, 0]))
        small = img.resize((face, round(face * h / w)), Image.Resampling.LANCZOS)
        canvas.paste(small, (side // 2 - face // 2, side // 2 - small.height // 2))
        return canvas
    if cls == "mask":
        out = img.copy()
        d = ImageDraw.Draw(out)
        d.polygon([(0.12 * w, 0.62 * h), (0.88 * w, 0.62 * h), (0.8 * w, 0.98 * h), (0.2 * w, 0.98 * h)],
                  fill=(120, 170, 215))
        return out
    eyes = _eye_centres(img)
    if not eyes:
        return img
    out = img.copy()
    d = ImageDraw.Draw(out)
    if cls == "glare":
        x, y, ew = eyes[int(rng.integers(0, 2))]
        r = 0.28 * ew
        d.ellipse([x - r, y - r * 0.8, x + r, y + r * 0.8], fill=(250, 250, 250))
        return out.filter(ImageFilter.GaussianBlur(radius=0.4))
    if cls == "sunglasses":
        for x, y, ew in eyes:
            d.ellipse([x - 0.8 * ew, y - 0.5 * ew, x + 0.8 * ew, y + 0.55 * ew], fill=(20, 20, 25))
        return out
    if cls == "one_eye" and donor is not None:
        donor_eyes = _eye_centres(donor.convert("RGB"))
        if not donor_eyes:
            return img
        which = int(rng.integers(0, 2))
        x, y, ew = eyes[which]
        dx, dy, dew = donor_eyes[which]
        k = ew / max(dew, 1e-6)
        patch_half = 0.9 * dew
        patch = donor.convert("RGB").crop((round(dx - patch_half), round(dy - 0.6 * dew), round(dx + patch_half),
                                           round(dy + 0.6 * dew)))
        patch = patch.resize((max(1, round(patch.width * k)), max(1, round(patch.height * k))), Image.BILINEAR)
        box = (round(x - patch.width / 2), round(y - patch.height / 2))
        target = np.asarray(img.crop((*box, box[0] + patch.width, box[1] + patch.height)), np.float32)
        src = np.asarray(patch, np.float32)
        # Match the donor eye's colour and contrast to the face it is pasted into.
        src = (src - src.mean((0, 1))) / (src.std((0, 1)) + 1e-3) * target.std((0, 1)) + target.mean((0, 1))
        patch = Image.fromarray(np.clip(src, 0, 255).astype(np.uint8))
        mask = Image.new("L", patch.size, 0)
        ImageDraw.Draw(mask).ellipse([0, 0, patch.width - 1, patch.height - 1], fill=255)
        mask = mask.filter(ImageFilter.GaussianBlur(radius=max(1, patch.width // 8)))
        out.paste(patch, box, mask)
        return out
    return img


def run(data_dir: Path, *, side: str = "test", model_path: Path | None = None, limit: int | None = None,
        sheets: Path | None = None, classes: tuple[str, ...] = CLASSES) -> dict:
    from ml.analysis import analyse
    from ml.eye_model import load_model
    from ml.evaluate import SMALL_IMAGE_SIDE, _padded_upscaled
    from ml.types import EyeState, Verdict

    model = load_model(model_path)
    dev = devdata.load_dev(data_dir)
    test_groups = set(dev.eyes.group[dev.test])
    files = [(p, y) for p, y in datasets.list_labelled_files(data_dir / "faces")
             if (datasets.group_of(p.name) in test_groups) == (side == "test")]
    if limit:
        rng0 = np.random.default_rng(13)
        files = [files[i] for i in sorted(rng0.choice(len(files), size=min(limit, len(files)), replace=False))]
    open_faces = [p for p, y in files if y == 0]
    results: dict = {}
    for cls in classes:
        rng = np.random.default_rng(CLASSES.index(cls) + 1)
        tp = fp = tn = fn = 0
        check = lost = partly = 0
        rest_ok = rest_n = 0
        shown: list[tuple[Image.Image, str]] = []
        todo = [(p, y) for p, y in files if cls != "one_eye" or y == 1]
        for i, (path, label) in enumerate(todo):
            with Image.open(path) as im:
                donor = None
                if cls == "one_eye":
                    with Image.open(open_faces[i % len(open_faces)]) as dn:
                        donor = dn.convert("RGB")
                img = transform(im, cls, rng, donor=donor)
            result = analyse(img, model)
            if result.verdict is Verdict.NO_FACE and min(img.size) < SMALL_IMAGE_SIDE:
                result = analyse(_padded_upscaled(img), model)
            pred = result.verdict is Verdict.BLINKING
            tp += pred and label == 1
            fp += pred and label == 0
            tn += (not pred) and label == 0
            fn += (not pred) and label == 1
            main = result.faces[0] if result.faces else None
            if main is None or all(e.state is EyeState.NOT_VISIBLE for e in main.eyes):
                lost += 1
            partly += bool(main and any(e.state is EyeState.PARTLY_CLOSED for e in main.eyes))
            check += result.needs_check
            if not result.needs_check:
                rest_n += 1
                rest_ok += pred == bool(label)
            if sheets is not None and len(shown) < 40 and (pred != bool(label) or result.needs_check):
                shown.append((img, f"{'C' if label else 'O'}->{'C' if pred else 'O'}{' chk' if result.needs_check else ''}"))
        n = tp + fp + tn + fn
        results[cls] = {"n": n, "accuracy": round((tp + tn) / n, 4) if n else None,
                        "closed_recall": round(tp / (tp + fn), 4) if tp + fn else None,
                        "check_share": round(check / n, 4) if n else None,
                        "rest_accuracy": round(rest_ok / rest_n, 4) if rest_n else None,
                        "lost": lost, "partly": partly, "tp": tp, "fp": fp, "tn": tn, "fn": fn}
        if sheets is not None and shown:
            _sheet(shown, sheets / f"failure_{cls}.png")
    return results


def _sheet(items: list[tuple[Image.Image, str]], path: Path, cell: int = 100, cols: int = 10) -> None:
    rows = (len(items) + cols - 1) // cols
    canvas = Image.new("RGB", (cols * cell, rows * (cell + 12)), "white")
    d = ImageDraw.Draw(canvas)
    for i, (img, text) in enumerate(items):
        im = img.copy()
        im.thumbnail((cell, cell))
        x, y = (i % cols) * cell, (i // cols) * (cell + 12)
        canvas.paste(im, (x, y))
        d.text((x + 2, y + cell), text, fill=(0, 0, 0))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.failure_classes", description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--faces", choices=("test", "dev"), default="test")
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--classes", default=",".join(CLASSES))
    parser.add_argument("--sheets", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    res = run(args.data, side=args.faces, model_path=args.model, limit=args.limit, sheets=args.sheets,
              classes=tuple(args.classes.split(",")))
    print("| class | n | accuracy | closed recall | sent to check | accuracy on the rest | eyes lost | partly |")
    print("|---|---|---|---|---|---|---|---|")
    for cls, r in res.items():
        print(f"| {cls} | {r['n']} | {r['accuracy']} | {r['closed_recall']} | {r['check_share']} | "
              f"{r['rest_accuracy']} | {r['lost']} | {r['partly']} |")
    if args.json:
        args.json.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
