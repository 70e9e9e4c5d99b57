"""Every labelled dev eye as one table, with the groups, folds and test split model selection uses.

Sources (all read in place from shared/data, see its SOURCES.md):
  cew_eyes   CEW 24x24 eye patches                           group = source photo / LFW person
  face_eyes  eyes cut by our own pipeline from the CEW faces  same groups: a face and its patches travel together
  yawn       yawn_eyes RGB close-ups (whole image = one eye)  group = pair index N, joined by near duplicates

For the face eyes, the table keeps what the app measures per eye (lid aperture, head pitch,
eye width, visibility, detector/mesh scores), so openness, calibration and the "check" rules
can be fitted on exactly what `ml.analysis` sees. Extracting the faces takes a few minutes on
one core, so the table is cached as .npz (`$EYESPY_CACHE_DIR`, default ~/.cache/eyespy), keyed
by the files and the source of the cropping code.

Splits: `test_groups` takes a seeded ~15 % of the groups of every source once and for all (the
final test, touched once); `fold_of` spreads the rest over k folds for grouped cross-validation.
Pure numpy + Pillow, no TensorFlow.
"""
from __future__ import annotations

import hashlib
import logging
import math
import os
import random
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ml import datasets

logger = logging.getLogger(__name__)

CROP = 32
TEST_SEED = "20261201-test13"
TEST_FRACTION = 0.15
FOLD_SEED = "20261201-folds13"
N_FOLDS = 5
YAWN_DUP_DHASH = 4  # near-duplicate close-ups (dHash distance <= this) join one group
FACE_ROWS_VERSION = "1"  # bump when _face_rows changes what it measures
_YAWN_NAME = re.compile(r"^([23])_(\d+)$")


@dataclass
class EyeTable:
    """One row per labelled eye image. Column arrays, all of length N."""

    x: np.ndarray  # uint8 [N, 32, 32] the CNN's input
    y: np.ndarray  # int64 1 = closed
    source: np.ndarray  # str: cew_eyes / face_eyes / yawn
    group: np.ndarray  # str split group
    item: np.ndarray  # str: the file (face file for face_eyes)
    side: np.ndarray  # str: left / right / ""
    lid_ratio: np.ndarray  # float32, NaN where not measured
    pitch: np.ndarray  # float32 head pitch (radians, mesh), NaN where not measured
    eye_px: np.ndarray  # float32 eye width in the analysed image (px), NaN where unknown
    visible: np.ndarray  # bool: the pipeline would judge this eye
    why: np.ndarray  # str: why not visible
    det_score: np.ndarray  # float32 face detector score (face_eyes), NaN otherwise
    presence: np.ndarray  # float32 mesh presence (face_eyes), NaN otherwise

    FIELDS = ("x", "y", "source", "group", "item", "side", "lid_ratio", "pitch", "eye_px", "visible", "why",
              "det_score", "presence")

    def __len__(self) -> int:
        return len(self.y)

    def take(self, idx: np.ndarray) -> "EyeTable":
        return EyeTable(**{f: getattr(self, f)[idx] for f in self.FIELDS})

    @classmethod
    def concat(cls, tables: list["EyeTable"]) -> "EyeTable":
        return cls(**{f: np.concatenate([getattr(t, f) for t in tables]) for f in cls.FIELDS})


@dataclass(frozen=True)
class FaceRow:
    """A CEW face as the app sees it: found or not, and its eyes' rows in the EyeTable."""

    item: str
    label: int
    group: str
    rows: tuple[int, ...]  # rows of its eyes (visible or not), in the face_eyes part of the table


def _empty(n: int) -> dict:
    return dict(lid_ratio=np.full(n, np.nan, np.float32), pitch=np.full(n, np.nan, np.float32),
                eye_px=np.full(n, np.nan, np.float32), visible=np.ones(n, bool), why=np.array([""] * n, dtype=object),
                det_score=np.full(n, np.nan, np.float32), presence=np.full(n, np.nan, np.float32))


def _table(x, y, source, group, item, side, **cols) -> EyeTable:
    n = len(y)
    base = _empty(n)
    base.update(cols)
    return EyeTable(x=np.asarray(x, np.uint8).reshape(n, CROP, CROP), y=np.asarray(y, np.int64),
                    source=np.array([source] * n, dtype=object), group=np.asarray(group, dtype=object),
                    item=np.asarray(item, dtype=object), side=np.asarray(side, dtype=object),
                    **{k: np.asarray(v) for k, v in base.items()})


# --------------------------------------------------------------------------- sources


def cew_patches(data_dir: Path) -> EyeTable:
    data = datasets.load_eye_patches(data_dir)
    sides = ["left" if p.stem.endswith("_L") else "right" if p.stem.endswith("_R") else "" for p in data.paths]
    return _table(datasets.resize_square(data.images, CROP), data.labels, "cew_eyes", data.groups,
                  [p.name for p in data.paths], sides)


def yawn_name_group(name: str) -> str:
    match = _YAWN_NAME.match(Path(name).stem)
    return f"yawn_{match.group(2)}" if match else f"yawn_{Path(name).stem}"


def _dhash(img: Image.Image) -> int:
    g = np.asarray(img.convert("L").resize((9, 8), Image.BILINEAR), dtype=np.int16)
    bits = (g[:, 1:] > g[:, :-1]).ravel()
    return int("".join("1" if b else "0" for b in bits), 2)


def yawn_eyes(data_dir: Path) -> EyeTable:
    """yawn_eyes close-ups, the whole image resized to the CNN input (what `ml.evaluate --eyes` does)."""
    folder = Path(data_dir) / "yawn_eyes"
    files = datasets.list_labelled_files(folder)
    xs, ys, names, hashes = [], [], [], []
    for path, label in files:
        with Image.open(path) as im:
            gray = im.convert("L")
            hashes.append(_dhash(gray))
            xs.append(np.asarray(gray.resize((CROP, CROP), Image.BILINEAR)))
        ys.append(label)
        names.append(path.name)
    groups = [yawn_name_group(n) for n in names]
    # Union-find over near-duplicate pairs, so copies of one photo never straddle a split.
    parent = {g: g for g in groups}

    def find(g: str) -> str:
        while parent[g] != g:
            parent[g] = parent[parent[g]]
            g = parent[g]
        return g

    for i in range(len(hashes)):
        for j in range(i + 1, len(hashes)):
            if bin(hashes[i] ^ hashes[j]).count("1") <= YAWN_DUP_DHASH:
                a, b = find(groups[i]), find(groups[j])
                if a != b:
                    parent[max(a, b)] = min(a, b)
    groups = [find(g) for g in groups]
    return _table(np.stack(xs), ys, "yawn", groups, names, [""] * len(ys))


def head_pitch(mesh: np.ndarray) -> float:
    """Head pitch (radians) from the mesh: angle of the forehead->chin line out of the image plane."""
    top, chin = mesh[10], mesh[152]
    d = chin - top
    return float(math.atan2(d[2], math.hypot(d[0], d[1])))


def _face_rows(path: Path, label: int):
    from ml.analysis import upscale_small
    from ml.evaluate import SMALL_IMAGE_SIDE, _padded_upscaled
    from ml.eyes import crop_eye
    from ml.faces import find_faces

    with Image.open(path) as im:
        rgb = im.convert("RGB")
    work = upscale_small(rgb)
    faces = find_faces(work)
    if not faces and min(rgb.size) < SMALL_IMAGE_SIDE:  # as ml.evaluate retries small face crops
        work = upscale_small(_padded_upscaled(rgb))
        faces = find_faces(work)
    if not faces:
        return []
    face = faces[0]
    gray = np.asarray(work.convert("L"))
    pitch = head_pitch(face.mesh)
    rows = []
    for eye in face.eyes:
        rows.append(dict(x=crop_eye(gray, eye.outer, eye.inner, size=CROP, side=eye.side), side=eye.side,
                         lid_ratio=eye.lid_ratio, pitch=pitch, eye_px=eye.width, visible=eye.visible,
                         why=eye.why_not_visible, det_score=face.detection.score, presence=face.presence))
    return rows


def _code_key(files: list[tuple[Path, int]]) -> str:
    digest = hashlib.sha256()
    here = Path(__file__).resolve().parent
    digest.update(FACE_ROWS_VERSION.encode())
    for name in ("eyes.py", "faces.py"):
        digest.update((here / name).read_bytes())
    for path, label in files:
        digest.update(f"{path.name}:{label}:{path.stat().st_size}\n".encode())
    return digest.hexdigest()[:16]


def face_eyes(data_dir: Path, *, cache_dir: str | Path | None = None) -> tuple[EyeTable, list[FaceRow]]:
    """Eyes of the CEW faces through our own pipeline (cached), and one FaceRow per face."""
    files = datasets.list_labelled_files(Path(data_dir) / "faces")
    if not files:
        raise datasets.DatasetError(f"no face images under {data_dir}/faces")
    cache_root = Path(cache_dir or os.environ.get("EYESPY_CACHE_DIR", Path.home() / ".cache" / "eyespy"))
    cache = cache_root / f"dev_face_eyes_{_code_key(files)}.npz"
    if cache.is_file():
        with np.load(cache, allow_pickle=True) as z:
            table = EyeTable(**{f: z[f] for f in EyeTable.FIELDS})
            face_items, face_labels, face_rows = list(z["face_items"]), z["face_labels"], list(z["face_rows"])
    else:
        rows, face_items, face_labels, face_rows = [], [], [], []
        for i, (path, label) in enumerate(files):
            found = _face_rows(path, label)
            face_items.append(path.name)
            face_labels.append(label)
            face_rows.append(",".join(str(len(rows) + k) for k in range(len(found))))
            for r in found:
                r.update(y=label, group=datasets.group_of(path.name), item=path.name)
                rows.append(r)
            if (i + 1) % 200 == 0:
                logger.info("faces: %d/%d", i + 1, len(files))
        n = len(rows)
        col = lambda k, dt: np.asarray([r[k] for r in rows], dtype=dt)  # noqa: E731
        table = EyeTable(
            x=np.stack([r["x"] for r in rows]).astype(np.uint8), y=col("y", np.int64),
            source=np.array(["face_eyes"] * n, dtype=object), group=col("group", object), item=col("item", object),
            side=col("side", object), lid_ratio=col("lid_ratio", np.float32), pitch=col("pitch", np.float32),
            eye_px=col("eye_px", np.float32), visible=col("visible", bool), why=col("why", object),
            det_score=col("det_score", np.float32), presence=col("presence", np.float32))
        face_labels = np.asarray(face_labels, np.int64)
        try:
            cache_root.mkdir(parents=True, exist_ok=True)
            np.savez_compressed(cache, **{f: getattr(table, f) for f in EyeTable.FIELDS},
                                face_items=np.asarray(face_items, dtype=object), face_labels=face_labels,
                                face_rows=np.asarray(face_rows, dtype=object))
        except OSError as exc:
            logger.warning("could not cache %s: %s", cache, exc)
    faces = [FaceRow(item=str(it), label=int(lab), group=datasets.group_of(str(it)),
                     rows=tuple(int(v) for v in str(r).split(",") if v != ""))
             for it, lab, r in zip(face_items, face_labels, face_rows)]
    return table, faces


@dataclass
class DevData:
    eyes: EyeTable  # all sources; face_eyes rows start at `face_offset`
    faces: list[FaceRow]  # rows are indices into `eyes`
    test: np.ndarray  # bool per eye row: in the final test split
    fold: np.ndarray  # int per eye row: 0..k-1 for dev rows, -1 for test rows

    def face_test(self, face: FaceRow) -> bool:
        return face.group in self._test_groups

    def __post_init__(self) -> None:
        self._test_groups = set(self.eyes.group[self.test])


def load_dev(data_dir: str | Path, *, folds: int = N_FOLDS) -> DevData:
    data_dir = Path(data_dir)
    patches = cew_patches(data_dir)
    fe, faces = face_eyes(data_dir)
    yawn = yawn_eyes(data_dir)
    offset = len(patches)
    faces = [FaceRow(f.item, f.label, f.group, tuple(r + offset for r in f.rows)) for f in faces]
    eyes = EyeTable.concat([patches, fe, yawn])
    test_g = test_groups(eyes)
    test = np.asarray([g in test_g for g in eyes.group])
    fold = fold_of(eyes, test, folds=folds)
    return DevData(eyes=eyes, faces=faces, test=test, fold=fold)


def _groups_by_label(table: EyeTable, mask: np.ndarray) -> dict[str, tuple[int, int]]:
    """group -> (closed rows, open rows) over the masked rows."""
    out: dict[str, list[int]] = {}
    for g, y in zip(table.group[mask], table.y[mask]):
        c = out.setdefault(str(g), [0, 0])
        c[0 if y else 1] += 1
    return {g: (c[0], c[1]) for g, c in out.items()}


def test_groups(table: EyeTable, *, seed: str = TEST_SEED, fraction: float = TEST_FRACTION) -> set[str]:
    """Seeded whole groups for the final test, ~`fraction` of each (source family, class).

    CEW patches and CEW face eyes share groups, so their split is drawn once, on the patches.
    """
    chosen: set[str] = set()
    for family, mask in (("cew", table.source == "cew_eyes"), ("yawn", table.source == "yawn")):
        counts = _groups_by_label(table, mask)
        for cls in (0, 1):  # by the group's majority class
            gs = sorted(g for g, (c, o) in counts.items() if (c >= o) == bool(cls))
            random.Random(f"{seed}-{family}-{cls}").shuffle(gs)
            total = sum(sum(counts[g]) for g in gs)
            taken = 0
            for g in gs:
                if taken >= fraction * total:
                    break
                chosen.add(g)
                taken += sum(counts[g])
    return chosen


def fold_of(table: EyeTable, test: np.ndarray, *, folds: int = N_FOLDS, seed: str = FOLD_SEED) -> np.ndarray:
    """Fold 0..k-1 per dev row by group (balanced per class, greedy), -1 for test rows."""
    counts = _groups_by_label(table, ~test)
    load = np.zeros((folds, 2))
    assign: dict[str, int] = {}
    gs = sorted(counts)
    random.Random(seed).shuffle(gs)
    gs.sort(key=lambda g: -sum(counts[g]))  # big groups first, ties in shuffled order
    for g in gs:
        c, o = counts[g]
        cost = load[:, 0] * (c > 0) * c + load[:, 1] * (o > 0) * o + load.sum(axis=1) * 1e-3
        k = int(np.argmin(cost))
        load[k] += (c, o)
        assign[g] = k
    return np.asarray([-1 if t else assign[str(g)] for g, t in zip(table.group, test)], dtype=np.int64)


def link_side(data_dir: str | Path, out_dir: str | Path, *, side: str = "test") -> dict[str, int]:
    """Symlink the test (or dev) side into out_dir/{cew_eyes,faces,yawn}/{closed,open} for `ml.evaluate`.

    Links, never copies: the research-use data stays where it is.
    """
    data_dir, out_dir = Path(data_dir).resolve(), Path(out_dir)
    dev = load_dev(data_dir)
    chosen = set(dev.eyes.group[dev.test]) if side == "test" else set(dev.eyes.group[~dev.test])
    counts: dict[str, int] = {}
    yawn_groups = dict(zip(dev.eyes.item[dev.eyes.source == "yawn"], dev.eyes.group[dev.eyes.source == "yawn"]))
    for kind, folder, group in (("cew_eyes", data_dir / "cew" / "eyes", datasets.group_of),
                                ("faces", data_dir / "faces", datasets.group_of),
                                ("yawn", data_dir / "yawn_eyes", yawn_groups.get)):

        def keep(path: Path, group=group) -> bool:
            return group(path.name) in chosen

        counts[kind] = datasets.link_labelled(folder, out_dir / kind, keep=keep)
    return counts


def main(argv: list[str] | None = None) -> int:
    """`python -m ml.devdata --data ../shared/data --out DIR [--side test|dev]`: link one side for ml.evaluate."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m ml.devdata", description=main.__doc__)
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--side", choices=("test", "dev"), default="test")
    args = parser.parse_args(argv)
    for kind, n in link_side(args.data, args.out, side=args.side).items():
        print(f"{args.side} {kind}: {n} files linked under {args.out / kind}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
