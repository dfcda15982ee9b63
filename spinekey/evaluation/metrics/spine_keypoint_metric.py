"""mmengine metric that reports SpineKey's keypoint and detection numbers during validation.

It rebuilds a COCO ground truth and results list from the validation batches (GT in original pixels, as
the test pipeline loads annotations after resizing) and runs the same :func:`evaluate` as
tools/evaluate_keypoints.py, so the numbers in the training log equal the offline ones.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from mmdet.registry import METRICS
from spinekey.evaluation.evaluate import evaluate

_KEYS = ('PCK@0.05', 'PCK@0.1', 'PCK@0.2', 'AUC', 'EPE', 'recall', 'precision', 'bbox_AP', 'bbox_AP50',
         'bbox_AP75', 'kpt_AP')


def _xywh(boxes: np.ndarray) -> List[List[float]]:
    return [[float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])] for b in boxes]


@METRICS.register_module()
class SpineKeypointMetric(BaseMetric):
    """PCK/AUC/EPE/recall/precision and COCO bbox and OKS AP on the validation set.

    Args:
        score_thr: detections below it take no part in matching (COCO AP uses all).
        iou_thr: box IoU for a detection to match a vertebra.
        sigmas: per-keypoint OKS sigmas (default 0.025 each).
    """

    default_prefix: Optional[str] = 'spine'

    def __init__(self, score_thr: float = 0.3, iou_thr: float = 0.5, sigmas: Optional[Sequence[float]] = None,
                 collect_device: str = 'cpu', prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.score_thr = score_thr
        self.iou_thr = iou_thr
        self.sigmas = sigmas

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            gt, pred = sample['gt_instances'], sample['pred_instances']
            self.results.append({
                'img_id': sample['img_id'], 'ori_shape': sample['ori_shape'],
                'gt_boxes': np.asarray(gt['bboxes'].cpu() if hasattr(gt['bboxes'], 'cpu') else gt['bboxes']),
                'gt_kps': gt['keypoints'].cpu().numpy(), 'gt_vis': gt['keypoints_visible'].cpu().numpy(),
                'boxes': pred['bboxes'].cpu().numpy(), 'scores': pred['scores'].cpu().numpy(),
                'kps': pred['keypoints'].cpu().numpy(), 'kp_scores': pred['keypoint_scores'].cpu().numpy()})

    def compute_metrics(self, results: list) -> Dict[str, float]:
        k = results[0]['gt_kps'].shape[1] if results else 0
        gt = {'images': [], 'annotations': [],
              'categories': [{'id': 1, 'name': 'vertebra', 'keypoints': [f'kpt{j}' for j in range(k)]}]}
        preds = []
        for r in results:
            h, w = r['ori_shape']
            gt['images'].append({'id': r['img_id'], 'height': h, 'width': w})
            for box, kps, vis in zip(_xywh(r['gt_boxes']), r['gt_kps'], r['gt_vis']):
                flat = np.concatenate([kps, 2.0 * vis[:, None]], 1).reshape(-1).tolist()
                gt['annotations'].append({'id': len(gt['annotations']) + 1, 'image_id': r['img_id'],
                                          'category_id': 1, 'bbox': box, 'area': box[2] * box[3],
                                          'iscrowd': 0, 'keypoints': flat, 'num_keypoints': int(vis.sum())})
            for box, score, kps, kp_s in zip(_xywh(r['boxes']), r['scores'], r['kps'], r['kp_scores']):
                preds.append({'image_id': r['img_id'], 'category_id': 1, 'bbox': box, 'score': float(score),
                              'keypoints': np.concatenate([kps, kp_s[:, None]], 1).reshape(-1).tolist()})
        metrics = evaluate(gt, preds, iou_type='bbox', iou_thr=self.iou_thr, score_thr=self.score_thr,
                           sigmas=self.sigmas)
        return {key: float(metrics[key]) for key in _KEYS if key in metrics}
