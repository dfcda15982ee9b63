"""Keypoint metrics on matched instances (pure numpy; definitions in docs/inference_and_evaluation.md, "Evaluate").

All functions take ``errors`` (np.ndarray[M, K]): Euclidean distance in pixels between predicted and GT
keypoint of matched instance m, and ``visible`` (np.ndarray[M, K] bool): GT keypoints with v > 0. Only
visible keypoints count. With no visible keypoint a metric is NaN (undefined), never a silent 0.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


def keypoint_errors(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Distances (np.ndarray[M, K]) between ``pred`` and ``gt`` keypoints (np.ndarray[M, K, 2])."""
    pred, gt = np.asarray(pred, float), np.asarray(gt, float)
    if pred.shape != gt.shape or pred.shape[-1:] != (2,):
        raise ValueError(f'pred and gt must both be [M, K, 2], got {pred.shape} and {gt.shape}')
    return np.linalg.norm(pred - gt, axis=-1)


def _visible_values(values: np.ndarray, visible: np.ndarray) -> np.ndarray:
    values, visible = np.asarray(values, float), np.asarray(visible, bool)
    if values.shape != visible.shape:
        raise ValueError(f'errors {values.shape} and visible {visible.shape} differ in shape')
    return values[visible]


def epe(errors: np.ndarray, visible: np.ndarray) -> float:
    """End-point error: mean distance over visible keypoints (MMPose ``keypoint_epe``)."""
    v = _visible_values(errors, visible)
    return float(v.mean()) if v.size else float('nan')


def pck(errors: np.ndarray, visible: np.ndarray, norm: np.ndarray, thr: float) -> float:
    """Fraction of visible keypoints with error / norm < thr; ``norm`` (np.ndarray[M]) per instance.

    With norm = max(w, h) of the GT box this is MMPose ``PCKAccuracy(norm_item='bbox')``.
    """
    norm = np.asarray(norm, float)
    if norm.ndim != 1 or len(norm) != np.shape(errors)[0]:
        raise ValueError(f'norm must be [M] with M={np.shape(errors)[0]}, got shape {norm.shape}')
    if (norm <= 0).any():
        raise ValueError('norm must be > 0 for every instance')
    ratio = np.asarray(errors, float) / norm[:, None]
    v = _visible_values(ratio, visible)
    return float((v < thr).mean()) if v.size else float('nan')


def auc(errors: np.ndarray, visible: np.ndarray, norm: np.ndarray, max_thr: float = 0.5,
        num_thrs: int = 20) -> float:
    """Area under the PCK curve: mean of PCK(max_thr * i / num_thrs) for i = 0..num_thrs-1."""
    return float(np.mean([pck(errors, visible, norm, max_thr * i / num_thrs) for i in range(num_thrs)]))


def pck_curve(errors: np.ndarray, visible: np.ndarray, norm: np.ndarray,
              thrs: Sequence[float]) -> list:
    """PCK at each threshold (for plots and metrics.json)."""
    return [pck(errors, visible, norm, t) for t in thrs]


def sdr(errors: np.ndarray, visible: np.ndarray, thr: float) -> float:
    """Successful detection rate: fraction of visible keypoints with error < thr (same unit as errors)."""
    v = _visible_values(errors, visible)
    return float((v < thr).mean()) if v.size else float('nan')


def line_tilt_errors(pred: np.ndarray, gt: np.ndarray, pairs: Sequence[Sequence[int]],
                     visible: np.ndarray) -> np.ndarray:
    """Absolute angle (degrees, 0-90) between each predicted line a->b and its true one, per instance and pair.

    pred / gt (N, K, 2), ``pairs`` of keypoint indices (e.g. the two endplates), visible (N, K). Returns (M,)
    over the lines whose two ends are visible. Why: a Cobb angle is a difference of endplate tilts, so a model
    can lower the mean corner error and still tilt the endplates worse; this is the error the angles feel.
    """
    out = []
    for a, b in pairs:
        ok = visible[:, a] & visible[:, b]
        dp, dg = pred[ok, b] - pred[ok, a], gt[ok, b] - gt[ok, a]
        diff = np.degrees(np.arctan2(dp[:, 1], dp[:, 0]) - np.arctan2(dg[:, 1], dg[:, 0]))
        diff = np.abs((diff + 180.0) % 360.0 - 180.0)
        out.append(np.minimum(diff, 180.0 - diff))
    return np.concatenate(out) if out else np.zeros(0)
