"""The vertebra and film records every layer shares (docs/architecture.md): one vertebra as named keypoints
with what its source says of it, one film's vertebrae, and one film's measurement rows; with the geometry
that only needs the record (its centre, box, quadrilateral, the column's axis and order).

Nothing here imports the rest of the package, so measurement, models, converters and the APIs can all build
and read these records without importing each other.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from spinekey.structures.keypoint_names import CORNERS_4

CORNERS = tuple(CORNERS_4)


@dataclass
class VertebraInput:
    """One detected or annotated vertebra: visible keypoints by name, plus what the source says of it."""
    points: Dict[str, Tuple[float, float]]
    score: Optional[float] = None
    label: Optional[str] = None
    bbox: Optional[Sequence[float]] = None  # x, y, w, h: orders a vertebra whose corners are missing
    keypoint_scores: Optional[Dict[str, float]] = None  # predictions: the model's score per keypoint name
    keypoint_unc: Optional[Dict[str, float]] = None     # predictions: each keypoint's uncertainty (px, 1 sd)
    filled: bool = False  # predictions: a level stage 1 missed, placed by the refiner (spinekey.apis.missed_levels)

    def centre(self) -> Optional[np.ndarray]:
        corners = [self.points[n] for n in CORNERS if n in self.points]
        if corners:
            return np.mean(np.asarray(corners, float), axis=0)
        if self.bbox is not None:
            x, y, w, h = self.bbox
            return np.array([x + w / 2, y + h / 2])
        return None

    def has_corners(self) -> bool:
        return all(n in self.points for n in CORNERS)


@dataclass
class ImageInput:
    """One film's vertebrae and what the results or annotation file says of the film."""
    image_id: int
    file_name: str
    width: Optional[int] = None
    height: Optional[int] = None
    pixel_spacing: Optional[List[float]] = None
    cobb_angles: Optional[List[float]] = None  # AASCE [pt, mt, tl] from a converted GT file
    vertebrae: List[VertebraInput] = field(default_factory=list)
    dropped: int = 0  # detections below the score threshold
    # of those, the ones at or above a lower, faint threshold (read only for end completion, --complete-ends)
    faint: List[VertebraInput] = field(default_factory=list)


def films_by_name(images: Sequence[ImageInput]) -> Dict[str, ImageInput]:
    """Films keyed by file name and by base name (results from a folder carry bare names, GT files often keep a
    sub-folder); a film's own name always finds it, and the first film of a base name keeps the base name. Look one
    up with :func:`film_named`."""
    out: Dict[str, ImageInput] = {}
    for im in images:
        out.setdefault(im.file_name, im)
    for im in images:
        out.setdefault(os.path.basename(im.file_name), im)
    return out


def film_named(by_name: Dict[str, ImageInput], file_name: str) -> Optional[ImageInput]:
    """The film of ``by_name`` (films_by_name) named ``file_name``, else the one of its base name, else None."""
    return by_name.get(file_name) or by_name.get(os.path.basename(file_name))


@dataclass
class SpineMeasurement:
    """One film measured (spinekey.measurement.spine.measure_spine): rows for measurements.csv / images.csv
    and the ordered vertebrae and end indices the overlays and QC read."""
    vertebrae: List[dict] = field(default_factory=list)  # rows in VERTEBRA_COLUMNS
    image: dict = field(default_factory=dict)             # row in IMAGE_COLUMNS
    ordered: List[VertebraInput] = field(default_factory=list)
    levels: List[str] = field(default_factory=list)
    cobb_ends: Optional[Tuple[int, int]] = None           # indices into ordered
    lordosis_ends: Optional[Tuple[int, int]] = None
    lordosis_plate: str = 'inferior'                      # caudal endplate used for lordosis
    aasce_vertebrae: List[VertebraInput] = field(default_factory=list)  # what the AASCE angles were measured on


def vertebra_quad(v: VertebraInput) -> Optional[np.ndarray]:
    """The four corners (top_left, top_right, bottom_right, bottom_left) as a (4, 2) array, None if any is
    missing."""
    return np.array([v.points[n] for n in CORNERS], float) if v.has_corners() else None


def quad_height(q: np.ndarray) -> float:
    """Mean of the two side lengths of a corner quadrilateral."""
    return float((np.linalg.norm(q[3] - q[0]) + np.linalg.norm(q[2] - q[1])) / 2)


def quad_width(q: np.ndarray) -> float:
    """Mean of the two endplate lengths of a corner quadrilateral."""
    return float((np.linalg.norm(q[1] - q[0]) + np.linalg.norm(q[2] - q[3])) / 2)


def points_box(points: np.ndarray) -> np.ndarray:
    """[x1, y1, x2, y2] around points (K, 2)."""
    points = np.asarray(points, float)
    return np.concatenate([points.min(0), points.max(0)])


def vertebra_box(v: VertebraInput) -> Optional[np.ndarray]:
    """[x1, y1, x2, y2]: around the four corners when all are known, else the record's own box."""
    q = vertebra_quad(v)
    if q is not None:
        return points_box(q)
    if v.bbox is not None:
        x, y, w, h = v.bbox
        return np.array([x, y, x + w, y + h], float)
    return None


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two boxes given as [x1, y1, x2, y2]; 0 when both are empty."""
    return float(box_iou_matrix(np.asarray(a, float)[None], np.asarray(b, float)[None])[0, 0])


def box_iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix (N, M) of boxes ``a`` (N, 4) and ``b`` (M, 4) in [x1, y1, x2, y2]; 0 where both are empty."""
    a = np.asarray(a, float).reshape(-1, 4)
    b = np.asarray(b, float).reshape(-1, 4)
    wh = np.clip(np.minimum(a[:, None, 2:], b[None, :, 2:]) - np.maximum(a[:, None, :2], b[None, :, :2]), 0, None)
    inter = wh[..., 0] * wh[..., 1]
    union = ((a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]))[:, None] + ((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]))[None]
    union = union - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def hungarian_match(iou: np.ndarray, thr: float) -> List[Tuple[int, int, float]]:
    """Pairs (gt_index, pred_index, iou) maximising total IoU, one-to-one, keeping pairs with IoU >= thr."""
    from scipy.optimize import linear_sum_assignment
    iou = np.asarray(iou, float)
    if iou.size == 0:
        return []
    rows, cols = linear_sum_assignment(-iou)
    return [(int(r), int(c), float(iou[r, c])) for r, c in zip(rows, cols) if iou[r, c] >= thr]


def pair_vertebrae(truth: Sequence[VertebraInput], found: Sequence[VertebraInput], iou_thr: float = 0.5
                   ) -> Dict[int, int]:
    """{index in ``found``: index in ``truth``}, one-to-one by the IoU of their boxes (vertebra_box) >= iou_thr;
    every vertebra needs corners or a box."""
    boxes = [np.array([vertebra_box(v) for v in vs], float).reshape(-1, 4) for vs in (truth, found)]
    return {f: t for t, f, _ in hungarian_match(box_iou_matrix(*boxes), iou_thr)}


def column_axis(centres: np.ndarray) -> np.ndarray:
    """Unit direction of the column through vertebra centres (N >= 2, 2): their principal axis, pointing down
    the film (y down)."""
    axis = np.linalg.svd(centres - centres.mean(0), full_matrices=False)[2][0]
    return -axis if axis[1] < 0 else axis


def order_centres(centres: np.ndarray) -> List[int]:
    """Indices of centres (N, 2) cranial to caudal along their principal axis (robust to curves and rotated
    films)."""
    pts = np.asarray(centres, float).reshape(-1, 2)
    if len(pts) < 2:
        return list(range(len(pts)))
    return [int(i) for i in np.argsort((pts - pts.mean(0)) @ column_axis(pts), kind='stable')]


def order_vertebrae(vertebrae: Sequence[VertebraInput]) -> List[int]:
    """Cranial-to-caudal order along the column's principal axis; vertebrae with neither corners nor a box are
    left out."""
    centres = [v.centre() for v in vertebrae]
    known = [i for i, c in enumerate(centres) if c is not None]
    return [known[i] for i in order_centres(np.array([centres[i] for i in known], float))]


def centre_steps(ordered: Sequence[VertebraInput]) -> Optional[np.ndarray]:
    """Centre-to-centre distances of consecutive vertebrae (None below three or with one unplaced)."""
    centres = [v.centre() for v in ordered]
    if len(centres) < 3 or any(c is None for c in centres):
        return None
    return np.linalg.norm(np.diff(np.asarray(centres, float), axis=0), axis=1)


def best_window(scores: Sequence[Optional[float]], size: int) -> Tuple[int, int]:
    """[start, end) of the ``size`` consecutive items with the highest total score (None counts as 1): the
    levels a column keeps when a model also finds C7 or the sacrum."""
    if len(scores) <= size:
        return 0, len(scores)
    values = np.array([1.0 if s is None else float(s) for s in scores])
    start = int(np.argmax(np.convolve(values, np.ones(size), mode='valid')))
    return start, start + size


def name_quad_corners(quad: np.ndarray) -> dict:
    """Name 4 points: the two with the smallest y are the top (left = smaller x), the others the bottom."""
    pts = np.asarray(quad, float)
    by_y = pts[np.argsort(pts[:, 1], kind='stable')]
    top = by_y[:2][np.argsort(by_y[:2, 0], kind='stable')]
    bottom = by_y[2:][np.argsort(by_y[2:, 0], kind='stable')]
    return {'top_left': top[0], 'top_right': top[1], 'bottom_right': bottom[1], 'bottom_left': bottom[0]}
