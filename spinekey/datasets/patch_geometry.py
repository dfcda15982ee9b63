"""Where a vertebra's patch lies on the film: one affine map, film pixels <-> patch pixels, and the crop.

Why one function for both directions: the refiner is trained on patches cut with :func:`vertebra_frame` and its
corners come back to the film with the inverse of the same matrix, so a round trip is exact (tested to 1e-4
px at any rotation). The frame is *oriented*: turned so the vertebra's endplates (from its stage-1 corners)
are level, so the network predicts a small residual in a canonical frame instead of every tilt (an
axis-aligned crop pulled every tilt toward the mean; docs/aasce.md, refiner).

Pixel convention: OpenCV's, pixel centres at integer coordinates, for films, patches and keypoints alike.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Sequence

import cv2
import numpy as np

ENDPLATES = (('top_left', 'top_right'), ('bottom_left', 'bottom_right'))


@dataclass(frozen=True)
class PatchFrame:
    """``matrix`` (2x3) maps film (x, y) to patch (u, v); ``scale`` is patch pixels per film pixel."""
    matrix: np.ndarray
    scale: float
    angle_deg: float
    size: int

    def to_patch(self, points: np.ndarray) -> np.ndarray:
        return apply_affine(self.matrix, points)

    def to_film(self, points: np.ndarray) -> np.ndarray:
        return apply_affine(invert_affine(self.matrix), points)


def apply_affine(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``points`` (..., 2) through a 2x3 affine matrix."""
    pts = np.asarray(points, np.float64)
    return pts @ matrix[:, :2].T + matrix[:, 2]


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    """The 2x3 inverse of a 2x3 affine matrix."""
    linear = np.linalg.inv(np.asarray(matrix, np.float64)[:, :2])
    return np.hstack([linear, -linear @ matrix[:, 2:3]])


def endplate_angle_deg(points: Dict[str, Sequence[float]]) -> float:
    """Mean direction of the superior and inferior endplates (degrees, image axes: y down); 0 when the corner
    names are missing (a keypoint set without them gets an axis-aligned frame)."""
    vectors = []
    for left, right in ENDPLATES:
        if left in points and right in points:
            d = np.subtract(points[right], points[left], dtype=np.float64)
            n = np.hypot(*d)
            if n > 0:
                vectors.append(d / n)
    if not vectors:
        return 0.0
    mean = np.mean(vectors, axis=0)
    return float(np.degrees(np.arctan2(mean[1], mean[0])))


def unturn_matrix(angle_deg: float) -> np.ndarray:
    """The 2x2 rotation by -``angle_deg`` (image axes): a direction at ``angle_deg`` comes out along +x."""
    a = np.radians(angle_deg)
    return np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])


def vertebra_frame(keypoints: np.ndarray, names: Sequence[str], size: int, context: float,
                   oriented: bool = True, min_side: float = 8.0, extra_deg: float = 0.0) -> PatchFrame:
    """The patch frame of one vertebra from its (stage-1) keypoints (K, 2) named ``names``.

    The patch is ``size`` x ``size`` pixels, centred on the keypoints' mean, turned by the endplates' mean
    direction when ``oriented`` (plus ``extra_deg``: the refiner's rotation test), and spans ``context`` times
    the vertebra's larger side in that frame (enough to see the neighbouring endplates at 1.5), never less than
    ``min_side`` film pixels (a box under 8 px).
    """
    pts = np.asarray(keypoints, np.float64).reshape(-1, 2)
    if not np.all(np.isfinite(pts)):
        raise ValueError('vertebra_frame needs finite keypoints')
    angle = (endplate_angle_deg(dict(zip(names, pts))) if oriented else 0.0) + extra_deg
    centre = pts.mean(0)
    unturn = unturn_matrix(angle)
    local = (pts - centre) @ unturn.T
    extent = max(float(np.ptp(local[:, 0])), float(np.ptp(local[:, 1])), min_side / context)
    scale = size / (context * extent)
    half = (size - 1) / 2.0  # the centre pixel of the patch (pixel centres at integers)
    linear = scale * unturn
    matrix = np.hstack([linear, (np.array([half, half]) - linear @ centre)[:, None]])
    return PatchFrame(matrix=matrix, scale=scale, angle_deg=angle, size=size)


def mirror_frame(frame: PatchFrame) -> PatchFrame:
    """``frame`` mirrored left-right: the patch it cuts is ``frame``'s with its columns reversed (u -> size - 1 - u,
    pixel centres at integers), and its ``to_film`` brings points of that mirrored patch back to the film. The
    refiner's flip test; keypoint names swap left/right, which the caller does."""
    flip = np.array([[-1.0, 0.0, frame.size - 1.0], [0.0, 1.0, 0.0]])
    matrix = flip[:, :2] @ frame.matrix
    matrix[:, 2] += flip[:, 2]
    return PatchFrame(matrix=matrix, scale=frame.scale, angle_deg=frame.angle_deg, size=frame.size)


def cut_patch(film: np.ndarray, frame: PatchFrame) -> np.ndarray:
    """The patch of ``frame`` from a grayscale film (H, W) at its native resolution; outside the film the
    border pixel is repeated (a vertebra at the edge still gets a full patch)."""
    return cv2.warpAffine(film, frame.matrix, (frame.size, frame.size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def vertebra_size(keypoints: np.ndarray) -> float:
    """A vertebra's size for scaling errors: the larger side of its keypoints' bounding box (at least 1 px)."""
    pts = np.asarray(keypoints, np.float64).reshape(-1, 2)
    return max(float(np.ptp(pts[:, 0])), float(np.ptp(pts[:, 1])), 1.0)


def errors_in_vertebra_frame(errors: np.ndarray, truth: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """Keypoint errors (K, 2) in film pixels of a vertebra whose true keypoints are ``truth`` (K, 2), expressed in
    its own frame: turned so its true endplates are level, divided by its size (:func:`vertebra_size`). Errors of
    vertebrae of any tilt and size then share one distribution (the refiner's error bank)."""
    return np.asarray(errors, np.float64) @ _truth_unturn(truth, names).T / vertebra_size(truth)


def errors_to_film(errors: np.ndarray, truth: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """The inverse of :func:`errors_in_vertebra_frame`: errors (K, 2) of a vertebra's own frame in film pixels
    for the vertebra ``truth``."""
    return np.asarray(errors, np.float64) @ _truth_unturn(truth, names) * vertebra_size(truth)


def _truth_unturn(truth: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """The rotation that levels the endplates of the vertebra ``truth`` (its transpose turns them back)."""
    return unturn_matrix(endplate_angle_deg(dict(zip(names, np.asarray(truth, np.float64)))))
