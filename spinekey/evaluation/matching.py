"""IoU matching of a results list against COCO GT, producing the iou_results.json structure."""
from __future__ import annotations

from collections import defaultdict
from typing import Dict, List

import numpy as np

from spinekey.evaluation.functional import box_iou_xywh, hungarian_match
from spinekey.utils.errors import SpineKeyError


def _gt_rle(ann: dict, height: int, width: int):
    from pycocotools import mask as mask_utils
    seg = ann.get('segmentation')
    if not seg:  # no mask: fall back to the box
        x, y, w, h = ann['bbox']
        seg = [[x, y, x + w, y, x + w, y + h, x, y + h]]
    if isinstance(seg, list):
        return mask_utils.merge(mask_utils.frPyObjects(seg, height, width))
    if isinstance(seg.get('counts'), list):
        return mask_utils.frPyObjects(seg, height, width)
    return seg


def iou_matrix(gts: List[dict], preds: List[dict], iou_type: str, height: int, width: int) -> np.ndarray:
    """IoU (np.ndarray[G, P]) by box or by mask (``segm``; predictions need RLE ``segmentation``)."""
    if not gts or not preds:
        return np.zeros((len(gts), len(preds)))
    if iou_type == 'bbox':
        return box_iou_xywh([g['bbox'] for g in gts], [p['bbox'] for p in preds])
    if iou_type != 'segm':
        raise ValueError(f"iou_type must be 'bbox' or 'segm', got {iou_type!r}")
    from pycocotools import mask as mask_utils
    missing = [p for p in preds if 'segmentation' not in p]
    if missing:
        raise SpineKeyError(f'image {preds[0]["image_id"]}: predictions without "segmentation"; '
                            'use --iou_type bbox')
    gt_rles = [_gt_rle(g, height, width) for g in gts]
    pred_rles = [p['segmentation'] for p in preds]
    return np.asarray(mask_utils.iou(pred_rles, gt_rles, [0] * len(gts))).T.reshape(len(gts), len(preds))


def match_results(gt: dict, results: List[dict], iou_type: str = 'segm', iou_thr: float = 0.5,
                  score_thr: float = 0.0) -> Dict:
    """One-to-one Hungarian matching per image; ``pred_index`` indexes the full ``results`` list.

    Predictions below ``score_thr`` take no part (they are neither matches nor false positives).
    Raises SpineKeyError for a result whose image is not in the GT.
    """
    images = {im['id']: im for im in gt['images']}
    gts_by_image = defaultdict(list)
    for ann in gt['annotations']:
        if not ann.get('iscrowd', 0):
            gts_by_image[ann['image_id']].append(ann)
    preds_by_image = defaultdict(list)
    for i, r in enumerate(results):
        if r['image_id'] not in images:
            raise SpineKeyError(f'results entry {i}: image_id {r["image_id"]} is not in the ground truth')
        if r['score'] >= score_thr:
            preds_by_image[r['image_id']].append(i)
    out = []
    for image_id, im in sorted(images.items()):
        gts, pred_idx = gts_by_image[image_id], preds_by_image[image_id]
        iou = iou_matrix(gts, [results[i] for i in pred_idx], iou_type, im['height'], im['width'])
        pairs = hungarian_match(iou, iou_thr)
        matched_g = {g for g, _, _ in pairs}
        matched_p = {p for _, p, _ in pairs}
        out.append({'image_id': image_id,
                    'matches': [{'gt_id': gts[g]['id'], 'pred_index': pred_idx[p], 'iou': round(v, 6)}
                                for g, p, v in pairs],
                    'missed_gt_ids': [g['id'] for j, g in enumerate(gts) if j not in matched_g],
                    'false_positive_indices': [pred_idx[j] for j in range(len(pred_idx)) if j not in matched_p]})
    return {'iou_type': iou_type, 'iou_threshold': iou_thr, 'score_threshold': score_thr, 'images': out}
