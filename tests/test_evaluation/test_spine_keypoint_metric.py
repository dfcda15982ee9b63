import numpy as np
import pytest
import torch

from spinekey.evaluation import SpineKeypointMetric


def _sample(img_id, gt_boxes, gt_kps, pred_boxes, pred_kps, scores):
    n = len(gt_boxes)
    return {'img_id': img_id, 'ori_shape': (200, 200),
            'gt_instances': {'bboxes': torch.tensor(gt_boxes, dtype=torch.float32),
                             'keypoints': torch.tensor(gt_kps, dtype=torch.float32),
                             'keypoints_visible': torch.ones(n, gt_kps.shape[1], dtype=torch.bool)},
            'pred_instances': {'bboxes': torch.tensor(pred_boxes, dtype=torch.float32),
                               'scores': torch.tensor(scores, dtype=torch.float32),
                               'keypoints': torch.tensor(pred_kps, dtype=torch.float32),
                               'keypoint_scores': torch.ones(len(pred_boxes), gt_kps.shape[1])}}


def test_metric_equals_offline_evaluation_by_hand():
    boxes = np.array([[10, 10, 50, 40], [10, 60, 50, 90]], float)
    kps = np.stack([boxes[:, [0, 1]], boxes[:, [2, 1]], boxes[:, [2, 3]], boxes[:, [0, 3]]], 1)
    shifted = kps.copy()
    shifted[0, :, 0] += 3.0  # 3 px error on the four corners of the first vertebra (norm 40 -> 0.075)
    metric = SpineKeypointMetric(score_thr=0.3)
    metric.process({}, [_sample(1, boxes, kps, boxes, shifted, [0.9, 0.8])])
    m = metric.compute_metrics(metric.results)
    assert m['EPE'] == pytest.approx(1.5)
    assert m['PCK@0.05'] == pytest.approx(0.5) and m['PCK@0.1'] == 1.0
    assert m['recall'] == 1.0 and m['bbox_AP50'] == pytest.approx(1.0)


def test_missed_vertebra_lowers_recall_not_pck():
    boxes = np.array([[10, 10, 50, 40], [10, 60, 50, 90]], float)
    kps = np.stack([boxes[:, [0, 1]], boxes[:, [2, 1]], boxes[:, [2, 3]], boxes[:, [0, 3]]], 1)
    metric = SpineKeypointMetric()
    metric.process({}, [_sample(1, boxes, kps, boxes[:1], kps[:1], [0.9])])
    m = metric.compute_metrics(metric.results)
    assert m['recall'] == 0.5 and m['PCK@0.05'] == 1.0 and m['precision'] == 1.0
