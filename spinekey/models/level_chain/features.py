"""What the level-chain model sees of each detection of a film, ordered cranial to caudal: geometry relative to
the film's median vertebra and to its neighbours, and the detector's confidence (pure numpy).

Scale-free on purpose: every length is divided by the film's median vertebra width or height, so a model trained
on AASCE's 2,000 px films reads a 1,000 px film the same way.
"""
from __future__ import annotations

from typing import List, Optional, Sequence

import numpy as np

from spinekey.structures.vertebra import VertebraInput, box_iou, quad_height, quad_width, vertebra_quad

NUM_FEATURES = 16


def _tilt_deg(q: np.ndarray) -> float:
    d = (q[1] - q[0]) + (q[2] - q[3])  # both endplates, left to right
    return float(np.degrees(np.arctan2(d[1], d[0])))


def detection_features(ordered: Sequence[VertebraInput], film_height: Optional[float] = None) -> np.ndarray:
    """(n, NUM_FEATURES) float32 for vertebrae already in spine order; each needs four corners."""
    quads = [vertebra_quad(v) for v in ordered]
    if any(q is None for q in quads):
        raise ValueError('detection_features needs four corners on every vertebra')
    n = len(quads)
    if n == 0:
        return np.zeros((0, NUM_FEATURES), np.float32)
    q = np.stack(quads)
    centre = q.mean(1)
    width = np.array([quad_width(x) for x in q])
    height = np.array([quad_height(x) for x in q])
    mw, mh = max(float(np.median(width)), 1.0), max(float(np.median(height)), 1.0)
    tilt = np.array([_tilt_deg(x) for x in q])
    boxes = np.concatenate([q.min(1), q.max(1)], 1)
    step = np.diff(centre, axis=0)
    prev_step = np.vstack([[0.0, 0.0], step])
    next_step = np.vstack([step, [0.0, 0.0]])
    iou_prev = [0.0] + [box_iou(boxes[i], boxes[i - 1]) for i in range(1, n)]
    iou_next = iou_prev[1:] + [0.0]
    scores = np.array([1.0 if v.score is None else float(v.score) for v in ordered])
    kp_scores = np.array([np.mean(list(v.keypoint_scores.values())) if v.keypoint_scores else s
                          for v, s in zip(ordered, scores)])
    pos = np.arange(n) / max(n - 1, 1)
    film_y = centre[:, 1] / film_height if film_height else pos
    cols: List[np.ndarray] = [
        (centre[:, 0] - np.median(centre[:, 0])) / mw, prev_step[:, 1] / mh, next_step[:, 1] / mh,
        prev_step[:, 0] / mw, width / mw, height / mh, tilt / 30.0, np.r_[0.0, np.diff(tilt)] / 30.0,
        scores, kp_scores, np.asarray(iou_prev), np.asarray(iou_next), pos, (n - 1 - np.arange(n)) / 20.0,
        np.full(n, n / 20.0), film_y]
    return np.stack(cols, 1).astype(np.float32)
