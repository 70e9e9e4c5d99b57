"""Eye crops cut by our own pipeline (ml.faces + ml.eyes) from labelled face images.

Training on these, next to the CEW eye patches, teaches the CNN what *our* cropper produces
at inference. Each face image gives up to two crops (the visible eyes of its largest face),
labelled by the face's folder and grouped by its file name (same groups as the eye patches).

Landmarking ~2,000 faces takes a minute or two, so results are cached in a .npz keyed by the
face files and the source of the cropping code.
"""
from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ml import datasets
from ml.analysis import upscale_small

logger = logging.getLogger(__name__)

# Small faces get ml.analysis.upscale_small, exactly what the app does, so the training crops match
# what the app will crop. The detector pads tight face crops itself; PAD_FRACTION is a fallback
# when it still finds none.
PAD_FRACTION = 0.4


@dataclass(frozen=True)
class FaceEyeCrops:
    x: np.ndarray  # uint8 [N,S,S]
    y: np.ndarray  # int64 [N], 1 = closed
    groups: list[str]
    paths: list[str]  # "<face file>#<side>"
    lid_ratio: np.ndarray  # float32 [N]
    missed: list[str]  # face files where no usable eye was found


def _padded(image: Image.Image) -> Image.Image:
    pad = int(round(max(image.size) * PAD_FRACTION))
    return Image.fromarray(np.pad(np.asarray(image), ((pad, pad), (pad, pad), (0, 0)), mode="edge"))


def crops_from_image(image: Image.Image) -> list[tuple[str, np.ndarray, float]]:
    """(side, crop, lid_ratio) for each visible eye of the largest face, [] if none."""
    from ml.eyes import crop_eye
    from ml.faces import find_faces

    rgb = image.convert("RGB")
    work = upscale_small(rgb)
    faces = find_faces(work, max_faces=1)
    if not faces:
        work = upscale_small(_padded(rgb))
        faces = find_faces(work, max_faces=1)
    if not faces:
        return []
    gray = np.asarray(work.convert("L"))
    out = []
    for eye in faces[0].eyes:
        if not eye.visible:
            continue
        out.append((eye.side, crop_eye(gray, eye.outer, eye.inner, side=eye.side), float(eye.lid_ratio)))
    return out


def _cache_key(files: list[tuple[Path, int]]) -> str:
    digest = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for name in ("face_crops.py", "eyes.py", "faces.py"):
        path = here / name
        if path.is_file():
            digest.update(path.read_bytes())
    for path, label in files:
        digest.update(f"{path.name}:{label}:{path.stat().st_size}\n".encode())
    return digest.hexdigest()[:16]


def eye_crops_from_faces(faces_dir: str | Path, *, cache_dir: str | Path | None = None) -> FaceEyeCrops:
    """Crop the eyes of every face under faces_dir/{closed,open} (cached)."""
    files = datasets.list_labelled_files(Path(faces_dir))
    if not files:
        raise datasets.DatasetError(f"no face images under {faces_dir}")
    cache_root = Path(cache_dir or os.environ.get("EYESPY_CACHE_DIR", Path.home() / ".cache" / "eyespy"))
    cache = cache_root / f"face_eyes_{_cache_key(files)}.npz"
    if cache.is_file():
        with np.load(cache, allow_pickle=False) as data:
            return FaceEyeCrops(x=data["x"], y=data["y"], groups=list(data["groups"]), paths=list(data["paths"]),
                                lid_ratio=data["lid_ratio"], missed=list(data["missed"]))
    xs, ys, groups, paths, lids, missed = [], [], [], [], [], []
    for i, (path, label) in enumerate(files):
        with Image.open(path) as im:
            found = crops_from_image(im)
        if not found:
            missed.append(path.name)
        for side, crop, lid in found:
            xs.append(crop)
            ys.append(label)
            groups.append(datasets.group_of(path.name))
            paths.append(f"{path}#{side}")
            lids.append(lid)
        if (i + 1) % 200 == 0:
            logger.info("cropped eyes from %d/%d faces", i + 1, len(files))
    from ml.eyes import EYE_CROP_SIZE

    result = FaceEyeCrops(
        x=np.stack(xs) if xs else np.zeros((0, EYE_CROP_SIZE, EYE_CROP_SIZE), np.uint8),
        y=np.asarray(ys, dtype=np.int64), groups=groups, paths=paths,
        lid_ratio=np.asarray(lids, dtype=np.float32), missed=missed,
    )
    logger.info("face eye crops: %d crops from %d faces, %d faces without a usable eye",
                len(result.x), len(files), len(missed))
    try:
        cache_root.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(cache, x=result.x, y=result.y, groups=np.asarray(groups), paths=np.asarray(paths),
                            lid_ratio=result.lid_ratio, missed=np.asarray(missed))
    except OSError as exc:  # a read-only home only costs the next run the same minute again
        logger.warning("could not cache face eye crops at %s: %s", cache, exc)
    return result
