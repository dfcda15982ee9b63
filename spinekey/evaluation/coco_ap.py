"""COCO AP/AP50/AP75 (bbox, segm, OKS keypoints) through pycocotools, quietly and without crashes."""
from __future__ import annotations

import contextlib
import copy
import io
from typing import Dict, List, Optional, Sequence

import numpy as np

DEFAULT_SIGMA = 0.025
_STAT_NAMES = ('AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'AR1', 'AR10', 'AR100')
_KPT_STAT_NAMES = ('AP', 'AP50', 'AP75', 'APm', 'APl', 'AR', 'AR50', 'AR75', 'ARm')


def coco_ap(gt: dict, results: List[dict], iou_type: str,
            sigmas: Optional[Sequence[float]] = None) -> Dict[str, float]:
    """Run COCOeval; returns ``{iou_type}_AP``, ``_AP50``, ``_AP75`` (and the rest of the stats).

    Args:
        gt: COCO ground truth dict. results: COCO results list (may be empty: all zeros).
        iou_type: 'bbox', 'segm' or 'keypoints' (OKS with per-keypoint ``sigmas``, default 0.025 each).
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    prefix = 'kpt' if iou_type == 'keypoints' else iou_type
    names = _KPT_STAT_NAMES if iou_type == 'keypoints' else _STAT_NAMES
    usable = [r for r in results if iou_type != 'segm' or 'segmentation' in r]
    if iou_type == 'keypoints':
        usable = [r for r in usable if 'keypoints' in r]
    if not usable or not gt.get('annotations'):
        return {f'{prefix}_{n}': 0.0 for n in names}
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = _with_defaults(gt)
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(copy.deepcopy(usable))
        ev = COCOeval(coco_gt, coco_dt, iou_type)
        if iou_type == 'keypoints':
            k = len(usable[0]['keypoints']) // 3
            ev.params.kpt_oks_sigmas = np.asarray(sigmas if sigmas is not None else [DEFAULT_SIGMA] * k, float)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return {f'{prefix}_{n}': float(max(s, 0.0)) for n, s in zip(names, ev.stats)}


def _with_defaults(gt: dict) -> dict:
    """pycocotools needs ``iscrowd``/``area`` on every annotation and an ``info`` field."""
    out = dict(gt)
    out.setdefault('info', {})
    anns = []
    for ann in gt['annotations']:
        ann = dict(ann)
        ann.setdefault('iscrowd', 0)
        if 'area' not in ann:
            ann['area'] = float(ann['bbox'][2] * ann['bbox'][3])
        anns.append(ann)
    out['annotations'] = anns
    return out


def coco_ap_per_class(gt: dict, results: List[dict], iou_type: str = 'bbox') -> Dict[str, Dict[str, float]]:
    """{class name: {'AP', 'AP50', 'n_gt'}} from one COCOeval run (area 'all', 100 detections), the way
    mmdet's classwise report reads COCOeval's precision table; -1 entries (no GT) are left out."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    usable = [r for r in results if iou_type != 'segm' or 'segmentation' in r]
    names = {c['id']: c['name'] for c in gt['categories']}
    counts = {cid: sum(1 for a in gt['annotations'] if a['category_id'] == cid) for cid in names}
    if not usable or not gt.get('annotations'):
        return {names[c]: {'AP': 0.0, 'AP50': 0.0, 'n_gt': counts[c]} for c in names}
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = _with_defaults(gt)
        coco_gt.createIndex()
        ev = COCOeval(coco_gt, coco_gt.loadRes(copy.deepcopy(usable)), iou_type)
        ev.evaluate()
        ev.accumulate()
    precision = ev.eval['precision']  # [iou thresholds, recall points, classes, areas, max dets]
    out = {}
    for k, cid in enumerate(ev.params.catIds):
        p_all, p50 = precision[:, :, k, 0, -1], precision[0, :, k, 0, -1]
        out[names[cid]] = {'AP': float(p_all[p_all > -1].mean()) if (p_all > -1).any() else 0.0,
                           'AP50': float(p50[p50 > -1].mean()) if (p50 > -1).any() else 0.0,
                           'n_gt': counts[cid]}
    return out
