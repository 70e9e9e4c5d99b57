"""Generate deterministic camera-like 24 MP JPEGs with a real face in them, for bench/ml_bench.py.

Each frame is stored 6000x4000 (like a camera sensor), baseline JPEG q92 with 4:2:2 chroma, and
carries EXIF (Make/Model/DateTime/DateTimeOriginal/exposure and an Orientation mix). The scene is
composed upright first (portrait 4000x6000 for orientations 6/8) and then stored rotated, so only
a reader that honours EXIF orientation sees the face upright - just like real camera files.

Content, chosen so the entropy-coded size (which sets the JPEG decode cost) is camera-like, ~8-11 MB:
  * a smooth colour field (sky/wall/bokeh) mixed with multi-octave texture (foliage/fabric/gravel),
    with a mask so some regions are detailed and others smooth;
  * a whole face from ../shared/data/faces/{open,closed}/ (CEW 100x100 crops) upscaled to ~15-25 %
    of the frame width and blended in with a feathered ellipse;
  * luminance and chroma sensor noise on top of everything.

The data under shared/ is for research use only: the JPEGs go to --out (default under /tmp),
never into the repository. A manifest.json next to them records what each frame holds.

    python bench/make_photos.py --out /tmp/eyespy-bench-photos --n 12
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import ExifTags, Image, ImageFilter

log = logging.getLogger("make_photos")

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FACES = REPO_ROOT.parent / "shared" / "data" / "faces"
DEFAULT_OUT = Path(tempfile.gettempdir()) / "eyespy-bench-photos"
STORED_SIZE = (6000, 4000)  # sensor orientation, as the camera writes it
ORIENTATIONS = (1, 6, 1, 8, 1, 1, 6, 3, 1, 6, 1, 1)  # mostly landscape, some portrait, one upside down
SEED = 20240601

# Inverse of what ImageOps.exif_transpose applies, so the *displayed* frame is the upright scene.
_STORE_TRANSPOSE = {
    3: Image.Transpose.ROTATE_180,
    6: Image.Transpose.ROTATE_90,
    8: Image.Transpose.ROTATE_270,
}


def _upscale(field: np.ndarray, size: tuple[int, int], resample: Image.Resampling) -> np.ndarray:
    """Resize a small float32 field to (width, height) with Pillow (C code: much faster than numpy)."""
    return np.asarray(Image.fromarray(field.astype(np.float32), "F").resize(size, resample), dtype=np.float32)


def _texture(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """Zero-mean multi-octave luminance texture at full resolution (float32, roughly -1..1)."""
    w, h = size
    out = np.zeros((h, w), dtype=np.float32)
    # Coarse octaves give shapes (leaves, stones); the fine ones give the per-pixel detail that makes
    # a sharp camera JPEG big.
    for cell, weight in ((96, 0.35), (24, 0.3), (6, 0.3), (2, 0.5)):
        small = rng.standard_normal((max(2, h // cell), max(2, w // cell))).astype(np.float32)
        out += weight * _upscale(small, size, Image.Resampling.BICUBIC)
    return out


def _scene(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """Upright RGB scene without a face, float32 0-255."""
    w, h = size
    # Smooth colour layout: a handful of muted patches (earth tones around one hue per frame)
    # blended by bicubic upscaling.
    tone = rng.uniform(50, 200, size=(5, 7, 1))
    tint = rng.uniform(-30, 30, size=(1, 1, 3)) + rng.uniform(-18, 18, size=(5, 7, 3))
    layout = np.clip(tone + tint, 10, 245).astype(np.float32)
    base = np.stack([_upscale(layout[..., c], size, Image.Resampling.BICUBIC) for c in range(3)], axis=-1)
    # Where the frame is detailed (in focus, textured) versus smooth (sky, background blur).
    mask = _upscale(rng.standard_normal((4, 6)).astype(np.float32), size, Image.Resampling.BICUBIC)
    mask = np.clip(0.55 + 0.6 * mask, 0.05, 1.0)
    tex = _texture(rng, size) * mask
    # Texture modulates luminance multiplicatively, like light on a textured surface.
    base *= (1.0 + 0.32 * tex)[..., None]
    return base


def _face_files(faces_dir: Path) -> dict[str, list[Path]]:
    files = {}
    for state in ("open", "closed"):
        folder = faces_dir / state
        if not folder.is_dir():
            raise SystemExit(f"no face folder {folder}: pass --faces DIR, a folder with open/ and closed/ face "
                             f"images (e.g. the CEW crops in ../shared/data/faces)")
        found = sorted(p for p in folder.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png", ".bmp"})
        if not found:
            raise SystemExit(f"no face images in {faces_dir / state}")
        files[state] = found
    return files


def _paste_face(
    scene: np.ndarray, face_path: Path, rng: np.random.Generator
) -> tuple[list[float], float]:
    """Blend an upscaled face into the scene in place; returns (box as image fractions, face width fraction)."""
    h, w, _ = scene.shape
    frac = float(rng.uniform(0.15, 0.25))  # face width as a fraction of the frame width (portrait-like)
    side = int(round(w * frac))
    with Image.open(face_path) as src:
        face = src.convert("RGB").resize((side, side), Image.Resampling.LANCZOS)
    # Subject slightly off-centre, upper half (rule-of-thirds-ish), fully inside the frame.
    cx = int(w * rng.uniform(0.35, 0.65))
    cy = int(h * rng.uniform(0.3, 0.5))
    x0 = min(max(0, cx - side // 2), w - side)
    y0 = min(max(0, cy - side // 2), h - side)
    # Feathered ellipse so the crop's square edge does not look like a pasted tile.
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32)
    r = np.sqrt(((xx - side / 2) / (side * 0.5)) ** 2 + ((yy - side / 2) / (side * 0.56)) ** 2)
    alpha = np.clip((1.0 - r) / 0.12, 0.0, 1.0)[..., None]
    # Shoulders/clothing under the face, so the frame reads as a portrait rather than a floating head.
    body_top = y0 + int(side * 0.9)
    if body_top < h:
        by, bx = np.mgrid[body_top:h, 0:w].astype(np.float32)
        inside = ((bx - (x0 + side / 2)) / (side * 1.05)) ** 2 + ((by - h) / (h - body_top + side * 0.4)) ** 2 < 1.0
        cloth = rng.uniform(20, 120, size=3).astype(np.float32)
        scene[body_top:h][inside] = scene[body_top:h][inside] * 0.5 + cloth * 0.5
    region = scene[y0 : y0 + side, x0 : x0 + side]
    region[...] = alpha * np.asarray(face, dtype=np.float32) + (1.0 - alpha) * region
    return [x0 / w, y0 / h, (x0 + side) / w, (y0 + side) / h], frac


def _exif(index: int, orientation: int) -> Image.Exif:
    exif = Image.Exif()
    stamp = f"2024:06:01 {10 + index // 60 % 10:02d}:{index % 60:02d}:{(7 * index) % 60:02d}"
    exif[ExifTags.Base.Make] = "EyeSpyBench"
    exif[ExifTags.Base.Model] = "Synthetic 24MP"
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.DateTime] = stamp
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    sub[ExifTags.Base.DateTimeOriginal] = stamp
    sub[ExifTags.Base.ExposureTime] = (1, 250)
    sub[ExifTags.Base.FNumber] = (28, 10)
    sub[ExifTags.Base.ISOSpeedRatings] = 400
    return exif


def make_photo(index: int, faces: dict[str, list[Path]], out_dir: Path, *, quality: int = 92) -> dict:
    """Write frame number `index` (deterministic for a given index and face set) and describe it."""
    rng = np.random.default_rng([SEED, index])
    orientation = ORIENTATIONS[index % len(ORIENTATIONS)]
    upright = STORED_SIZE if orientation in (1, 3) else (STORED_SIZE[1], STORED_SIZE[0])
    state = "open" if index % 2 == 0 else "closed"
    face_path = faces[state][int(rng.integers(len(faces[state])))]

    scene = _scene(rng, upright)
    box, frac = _paste_face(scene, face_path, rng)
    # Every ~6th frame is slightly out of focus (smaller file, like a missed-focus frame).
    if index % 6 == 5:
        blurred = Image.fromarray(np.clip(scene, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(2.5))
        scene = np.asarray(blurred, dtype=np.float32)
    # Sensor noise last: luminance (shared by channels) plus weaker per-channel chroma noise.
    h, w, _ = scene.shape
    scene += rng.normal(0.0, 4.5, size=(h, w, 1)).astype(np.float32)
    scene += rng.normal(0.0, 2.0, size=(h, w, 3)).astype(np.float32)
    pixels = Image.fromarray(np.clip(scene, 0, 255).astype(np.uint8), "RGB")
    del scene
    transpose = _STORE_TRANSPOSE.get(orientation)
    if transpose is not None:
        pixels = pixels.transpose(transpose)

    name = f"bench_{index:03d}_{state}_o{orientation}.jpg"
    path = out_dir / name
    pixels.save(path, "JPEG", quality=quality, subsampling=1, exif=_exif(index, orientation))
    return {
        "file": name,
        "bytes": path.stat().st_size,
        "orientation": orientation,
        "stored_size": list(pixels.size),
        "upright_size": list(upright),
        "eyes": state,  # what the pasted face shows: "open" or "closed"
        "face_source": f"{face_path.parent.name}/{face_path.name}",
        "face_box": [round(v, 4) for v in box],  # fractions of the upright frame
        "face_width_fraction": round(frac, 4),
    }


def make_photos(out_dir: Path, n: int, *, faces_dir: Path = DEFAULT_FACES, quality: int = 92) -> list[Path]:
    """Generate n frames into out_dir (reusing ones a previous run with the same settings made)."""
    out_dir = Path(out_dir)
    if out_dir.resolve().is_relative_to(REPO_ROOT):
        raise SystemExit(f"refusing to write benchmark photos inside the repository: {out_dir}")
    out_dir.mkdir(parents=True, exist_ok=True)
    faces = _face_files(Path(faces_dir))
    manifest_path = out_dir / "manifest.json"
    old = {}
    if manifest_path.exists():
        old = {item["file"]: item for item in json.loads(manifest_path.read_text()).get("photos", [])}
    items = []
    for index in range(n):
        orientation = ORIENTATIONS[index % len(ORIENTATIONS)]
        state = "open" if index % 2 == 0 else "closed"
        name = f"bench_{index:03d}_{state}_o{orientation}.jpg"
        cached = old.get(name)
        if cached and (out_dir / name).exists() and cached.get("quality") == quality:
            items.append(cached)
            continue
        t0 = time.perf_counter()
        item = make_photo(index, faces, out_dir, quality=quality)
        item["quality"] = quality
        items.append(item)
        log.info("%s  %.1f MB  %.1f s", name, item["bytes"] / 1e6, time.perf_counter() - t0)
    manifest_path.write_text(json.dumps({"seed": SEED, "photos": items}, indent=1))
    return [out_dir / item["file"] for item in items]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    parser.add_argument("--n", type=int, default=12, help="number of frames (default 12)")
    parser.add_argument("--faces", type=Path, default=DEFAULT_FACES, help="folder with open/ and closed/ face images")
    parser.add_argument("--quality", type=int, default=92)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    paths = make_photos(args.out, args.n, faces_dir=args.faces, quality=args.quality)
    total = sum(p.stat().st_size for p in paths)
    log.info("%d photos in %s, %.1f MB total (mean %.1f MB)", len(paths), args.out, total / 1e6, total / 1e6 / max(1, len(paths)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
