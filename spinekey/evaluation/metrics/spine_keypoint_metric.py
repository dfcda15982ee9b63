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
            with_kps = 'keypoints' in pred and 'keypoints' in gt  # detection-only models have none
            self.results.append({
                'img_id': sample['img_id'], 'ori_shape': sample['ori_shape'],
                'gt_boxes': np.asarray(gt['bboxes'].cpu() if hasattr(gt['bboxes'], 'cpu') else gt['bboxes']),
                'gt_labels': _numpy(gt.get('labels'), len(gt['bboxes'])),
                'gt_kps': gt['keypoints'].cpu().numpy() if with_kps else None,
                'gt_vis': gt['keypoints_visible'].cpu().numpy() if with_kps else None,
                'boxes': pred['bboxes'].cpu().numpy(), 'scores': pred['scores'].cpu().numpy(),
                'labels': _numpy(pred.get('labels'), len(pred['bboxes'])),
                'kps': pred['keypoints'].cpu().numpy() if with_kps else None,
                'kp_scores': pred['keypoint_scores'].cpu().numpy() if with_kps else None})

    def compute_metrics(self, results: list) -> Dict[str, float]:
        with_kps = bool(results) and results[0]['gt_kps'] is not None
        k = results[0]['gt_kps'].shape[1] if with_kps else 0
        classes = (self.dataset_meta or {}).get('classes') or ('vertebra', )
        gt = {'images': [], 'annotations': [],
              'categories': [{'id': i + 1, 'name': name, 'keypoints': [f'kpt{j}' for j in range(k)]}
                             for i, name in enumerate(classes)]}
        preds = []
        for r in results:
            h, w = r['ori_shape']
            gt['images'].append({'id': r['img_id'], 'height': h, 'width': w})
            for i, box in enumerate(_xywh(r['gt_boxes'])):
                ann = {'id': len(gt['annotations']) + 1, 'image_id': r['img_id'],
                       'category_id': int(r['gt_labels'][i]) + 1, 'bbox': box, 'area': box[2] * box[3], 'iscrowd': 0}
                if with_kps:
                    vis = r['gt_vis'][i]
                    ann['keypoints'] = np.concatenate([r['gt_kps'][i], 2.0 * vis[:, None]], 1).reshape(-1).tolist()
                    ann['num_keypoints'] = int(vis.sum())
                gt['annotations'].append(ann)
            for i, (box, score) in enumerate(zip(_xywh(r['boxes']), r['scores'])):
                pred = {'image_id': r['img_id'], 'category_id': int(r['labels'][i]) + 1, 'bbox': box,
                        'score': float(score)}
                if with_kps:
                    kps = np.concatenate([r['kps'][i], r['kp_scores'][i][:, None]], 1)
                    pred['keypoints'] = kps.reshape(-1).tolist()
                preds.append(pred)
        metrics = evaluate(gt, preds, iou_type='bbox', iou_thr=self.iou_thr, score_thr=self.score_thr,
                           sigmas=self.sigmas)
        return {key: float(metrics[key]) for key in _KEYS if key in metrics}


def _numpy(values, n: int) -> np.ndarray:
    """Labels as a numpy array (zeros when absent)."""
    if values is None:
        return np.zeros(n, int)
    return values.cpu().numpy() if hasattr(values, 'cpu') else np.asarray(values)
