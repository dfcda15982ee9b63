"""One-to-one matching of predictions to ground truth by IoU (Hungarian; docs/architecture.md)."""
from __future__ import annotations

import numpy as np

from spinekey.structures.vertebra import box_iou_matrix, hungarian_match  # noqa: F401  (matching lives with IoU)


def box_iou_xywh(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix (np.ndarray[N, M]) of COCO boxes ``a`` (N, 4) and ``b`` (M, 4) in [x, y, w, h]."""
    a = np.asarray(a, float).reshape(-1, 4)
    b = np.asarray(b, float).reshape(-1, 4)
    return box_iou_matrix(np.concatenate([a[:, :2], a[:, :2] + a[:, 2:]], 1),
                          np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], 1))
