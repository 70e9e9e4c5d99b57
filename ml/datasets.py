"""Load labelled eye crops for training and evaluation, and split them by group.

Layout read here (see shared/data/SOURCES.md):
  <data>/cew/eyes/{closed,open}/*.jpg   CEW 24x24 grayscale eye patches
  <data>/faces/{closed,open}/*.jpg      CEW 100x100 face crops (the same people as the eye patches)
  <extra>/{closed,open}/**/*            any labelled eye crops (e.g. photographers' corrections)

The split is by *group*, never by file: a group is the source web photo for closed eyes
(`closed_eye_0002`) and the LFW person for open eyes (`Aaron_Guiel`), so both eyes of a face,
all faces of one photo and all photos of one person land on the same side. Faces and eye
patches share group names, so a face and its two eye patches are always on the same side too.

Pure numpy + Pillow: no TensorFlow here.
"""
from __future__ import annotations

import logging
import random
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
DEFAULT_SEED = 20240601
DEFAULT_VAL_FRACTION = 0.2

_CLOSED_GROUP = re.compile(r"^(closed_eye_\d+)")
# LFW style: <Person_Name>_<4 digits>[_L|_R][.ext]
_LFW_GROUP = re.compile(r"^(.+?)_\d{4}(?:_[LR])?(?:\.[A-Za-z]+)?$")


class DatasetError(ValueError):
    """The data folder is missing or does not hold what we expect."""


def group_of(filename: str) -> str:
    """The split group of an eye patch, a face crop or any extra crop, from its file name.

    `closed_eye_0002.jpg_face_2_L.jpg` and `cew_closed_eye_0002.jpg_face_2.jpg` -> `closed_eye_0002`;
    `Aaron_Guiel_0001_L.jpg` and `cew_Aaron_Guiel_0001.jpg` -> `Aaron_Guiel`. Unknown names are their own group.
    """
    name = Path(filename).name
    if name.startswith("cew_"):
        name = name[4:]
    match = _CLOSED_GROUP.match(name)
    if match:
        return match.group(1)
    match = _LFW_GROUP.match(name)
    if match:
        return match.group(1)
    return Path(name).stem


@dataclass(frozen=True)
class LabelledImages:
    """Images as a list of arrays (sizes may differ), with labels (1 = closed), groups and paths."""

    images: list[np.ndarray]
    labels: np.ndarray  # int64 [N]
    groups: list[str]
    paths: list[Path]

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, mask: np.ndarray) -> "LabelledImages":
        idx = np.flatnonzero(mask)
        return LabelledImages(
            images=[self.images[i] for i in idx],
            labels=self.labels[idx],
            groups=[self.groups[i] for i in idx],
            paths=[self.paths[i] for i in idx],
        )


def list_labelled_files(root: Path) -> list[tuple[Path, int]]:
    """Every image under root/closed and root/open (nested folders allowed), sorted for determinism."""
    root = Path(root)
    found: list[tuple[Path, int]] = []
    for label, cls in ((1, "closed"), (0, "open")):
        folder = root / cls
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
                found.append((path, label))
    return found


def load_folder(root: str | Path, *, mode: str = "L") -> LabelledImages:
    """Load root/{closed,open}/**/* as arrays in the given Pillow mode ("L" gray or "RGB")."""
    files = list_labelled_files(Path(root))
    if not files:
        raise DatasetError(f"no images under {root}/closed or {root}/open")
    images, labels, groups, paths = [], [], [], []
    for path, label in files:
        try:
            with Image.open(path) as im:
                images.append(np.asarray(im.convert(mode), dtype=np.uint8))
        except (OSError, ValueError) as exc:  # unreadable file: skip it, say so
            logger.warning("skipping unreadable image %s: %s", path, exc)
            continue
        labels.append(label)
        groups.append(group_of(path.name))
        paths.append(path)
    return LabelledImages(images=images, labels=np.asarray(labels, dtype=np.int64), groups=groups, paths=paths)


def load_eye_patches(data_dir: str | Path) -> LabelledImages:
    """The CEW eye patches under <data>/cew/eyes (24x24 grayscale)."""
    folder = Path(data_dir) / "cew" / "eyes"
    if not folder.is_dir():
        raise DatasetError(f"CEW eye patches not found: {folder}")
    return load_folder(folder, mode="L")


def validation_groups(
    groups: list[str], labels: np.ndarray, *, seed: int = DEFAULT_SEED, fraction: float = DEFAULT_VAL_FRACTION
) -> set[str]:
    """Pick whole groups for validation until each class has >= `fraction` of its files there.

    Deterministic: groups are sorted, then shuffled with a Random seeded by (seed, class).
    Call it on the eye patches; the same groups then select the validation faces.
    """
    chosen: set[str] = set()
    for label, cls in ((1, "closed"), (0, "open")):
        sizes: dict[str, int] = {}
        for group, lab in zip(groups, labels):
            if lab == label:
                sizes[group] = sizes.get(group, 0) + 1
        order = sorted(sizes)
        random.Random(f"{seed}-{cls}").shuffle(order)
        total = sum(sizes.values())
        taken = 0
        for group in order:
            if taken >= fraction * total:
                break
            chosen.add(group)
            taken += sizes[group]
    return chosen


def split_mask(data: LabelledImages, val_groups: set[str]) -> np.ndarray:
    """Boolean mask, True where the item belongs to the validation side."""
    return np.asarray([g in val_groups for g in data.groups], dtype=bool)


def resize_square(images: list[np.ndarray] | np.ndarray, size: int) -> np.ndarray:
    """Grayscale crops of any size -> uint8 [N, size, size] (bilinear), the CNN's input."""
    out = np.empty((len(images), size, size), dtype=np.uint8)
    for i, img in enumerate(images):
        arr = np.asarray(img)
        if arr.ndim == 3:
            arr = np.asarray(Image.fromarray(arr).convert("L"))
        if arr.shape != (size, size):
            arr = np.asarray(Image.fromarray(arr).resize((size, size), Image.BILINEAR))
        out[i] = arr
    return out


def link_split(data_dir: str | Path, out_dir: str | Path, *, seed: int = DEFAULT_SEED,
               fraction: float = DEFAULT_VAL_FRACTION, side: str = "val") -> dict[str, int]:
    """Symlink one side of the split into out_dir/{eyes,faces}/{closed,open} for `ml.evaluate`.

    Links, not copies: the research-use data stays where it is.
    """
    data_dir, out_dir = Path(data_dir).resolve(), Path(out_dir)
    patches = load_eye_patches(data_dir)
    val = validation_groups(patches.groups, patches.labels, seed=seed, fraction=fraction)
    written: dict[str, int] = {}
    for kind, folder in (("eyes", data_dir / "cew" / "eyes"), ("faces", data_dir / "faces")):
        written[kind] = link_labelled(folder, out_dir / kind,
                                      keep=lambda path: (group_of(path.name) in val) == (side == "val"))
    return written


def link_labelled(folder: Path, out_dir: Path, *, keep: Callable[[Path], bool]) -> int:
    """Symlink the labelled files of `folder` that `keep` accepts into OUT/closed and OUT/open (the layout
    `ml.evaluate` and `ml.train` read). Returns how many are linked; existing links are left as they are."""
    count = 0
    for path, label in list_labelled_files(folder):
        if not keep(path):
            continue
        target = out_dir / ("closed" if label else "open") / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            target.symlink_to(path)
        count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    """`python -m ml.datasets --data ../shared/data --out DIR [--side val|train]`: link a split for evaluation."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m ml.datasets", description=main.__doc__)
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--side", choices=("val", "train"), default="val")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    try:
        counts = link_split(args.data, args.out, seed=args.seed, side=args.side)
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for kind, n in counts.items():
        print(f"{args.side} {kind}: {n} files linked under {args.out / kind}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
