"""One-to-one matching of predictions to ground truth by IoU (Hungarian; docs/architecture.md)."""
from __future__ import annotations

from typing import List, Tuple

import numpy as np
from scipy.optimize import linear_sum_assignment

from spinekey.structures.vertebra import box_iou_matrix


def box_iou_xywh(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix (np.ndarray[N, M]) of COCO boxes ``a`` (N, 4) and ``b`` (M, 4) in [x, y, w, h]."""
    a = np.asarray(a, float).reshape(-1, 4)
    b = np.asarray(b, float).reshape(-1, 4)
    return box_iou_matrix(np.concatenate([a[:, :2], a[:, :2] + a[:, 2:]], 1),
                          np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], 1))


def hungarian_match(iou: np.ndarray, thr: float) -> List[Tuple[int, int, float]]:
    """Pairs (gt_index, pred_index, iou) maximising total IoU, one-to-one, keeping pairs with IoU >= thr."""
    iou = np.asarray(iou, float)
    if iou.size == 0:
        return []
    rows, cols = linear_sum_assignment(-iou)
    return [(int(r), int(c), float(iou[r, c])) for r, c in zip(rows, cols) if iou[r, c] >= thr]
