import numpy as np
import pytest

from spinekey.evaluation.functional import box_iou_xywh, hungarian_match


def test_box_iou_by_hand():
    iou = box_iou_xywh([[0, 0, 10, 10]], [[5, 0, 10, 10], [20, 20, 5, 5], [0, 0, 10, 10]])
    assert iou.tolist() == [[pytest.approx(50 / 150), 0.0, 1.0]]


def test_hungarian_maximises_total_iou_not_greedy():
    # greedy would give gt0 -> pred0 (0.9) and leave gt1 with 0.1 (dropped); the optimum is 0.8 + 0.85
    iou = np.array([[0.9, 0.8], [0.85, 0.1]])
    assert sorted(hungarian_match(iou, 0.5)) == [(0, 1, 0.8), (1, 0, 0.85)]


def test_pairs_below_threshold_are_dropped():
    assert hungarian_match(np.array([[0.4]]), 0.5) == []
    assert hungarian_match(np.zeros((0, 3)), 0.5) == []
