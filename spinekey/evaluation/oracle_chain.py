"""The chain's cost: how much of a film's AASCE error comes from choosing which detections form the column.

The AASCE angles are measured on the column a model picks (the 17 best-scored in a row, the spine chain, the
learned level chain, the end-level classifier). The *oracle chain* pairs each true vertebra with its own
detection instead (box IoU >= 0.5, one to one, Hungarian) and measures the same angles on those detections'
corners, with a true vertebra's own corners where no detection pairs with it. The SMAPE on the oracle chain is
what the model's corners alone cost; what is shipped minus it is what the choice of the column costs (issue
"one vertebra per level": the chain's cost). It is how the error analysis in docs/aasce.md splits the error,
and it lets a refiner (which moves corners, not the column) be judged apart from the chain.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from spinekey.evaluation.functional.matching import hungarian_match
from spinekey.structures.levels import level_sort_key
from spinekey.structures.vertebra import VertebraInput, box_iou_matrix, vertebra_box, vertebra_quad

ORACLE_IOU = 0.5


@dataclass
class OracleColumn:
    """The true column's corners (N, 4, 2) cranial to caudal, each from its paired detection where one pairs;
    ``unpaired``: how many true vertebrae took their own corners (no detection at IoU >= the threshold)."""
    corners: np.ndarray
    unpaired: int


def _true_order(true_vertebrae: Sequence[VertebraInput]) -> list:
    """True vertebrae with four corners, cranial to caudal: by level when all are labelled, else by height."""
    kept = [v for v in true_vertebrae if v.has_corners()]
    if kept and all(v.label for v in kept):
        return sorted(kept, key=lambda v: level_sort_key(v.label))
    return sorted(kept, key=lambda v: float(v.centre()[1]))


def _box(v: VertebraInput) -> np.ndarray:
    """[x1, y1, x2, y2]: the detector's (or annotation's) box when the record has one, else around the corners."""
    if v.bbox is not None:
        x, y, w, h = v.bbox
        return np.array([x, y, x + w, y + h], float)
    box = vertebra_box(v)
    return np.full(4, np.nan) if box is None else box


def oracle_column(true_vertebrae: Sequence[VertebraInput], predicted: Sequence[VertebraInput],
                  iou_thr: float = ORACLE_IOU) -> OracleColumn:
    """Each true vertebra (with four corners) paired one to one with a detection of four corners by box IoU;
    raises ValueError with fewer than two true vertebrae (no angle to measure)."""
    truth = _true_order(true_vertebrae)
    if len(truth) < 2:
        raise ValueError(f'the oracle chain needs two or more annotated vertebrae with four corners, got {len(truth)}')
    preds = [v for v in predicted if v.has_corners()]
    corners = np.array([vertebra_quad(v) for v in truth], float)
    pairs = []
    if preds:
        iou = box_iou_matrix(np.array([_box(v) for v in truth]), np.array([_box(v) for v in preds]))
        pairs = hungarian_match(np.nan_to_num(iou), iou_thr)
    for g, p, _ in pairs:
        corners[g] = vertebra_quad(preds[p])
    return OracleColumn(corners, len(truth) - len(pairs))


def oracle_chain_angles(true_vertebrae: Sequence[VertebraInput], predicted: Sequence[VertebraInput],
                        image_height: Optional[float], iou_thr: float = ORACLE_IOU):
    """(the AASCE angles (pt, mt, tl) on the oracle column, how many true vertebrae had no detection), or None
    when the film's height is unknown or it has fewer than two annotated vertebrae."""
    from spinekey.measurement.aasce import aasce_cobb_angles
    if image_height is None:
        return None
    try:
        column = oracle_column(true_vertebrae, predicted, iou_thr)
    except ValueError:
        return None
    (main, second, third), _ = aasce_cobb_angles(column.corners, image_height)
    return [second, main, third], column.unpaired

