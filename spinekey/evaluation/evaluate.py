"""Full evaluation of a results list against COCO GT: matching, keypoint metrics, COCO AP.

Returns a flat dict of numbers (the keys of metrics.json, e.g. ``PCK@0.1``, ``EPE``, ``bbox_AP``) plus
``per_keypoint`` and ``pck_curve`` breakdowns.
"""
from __future__ import annotations

import warnings
from typing import Dict, List, Optional, Sequence

import numpy as np

from spinekey.evaluation.coco_ap import coco_ap
from spinekey.evaluation.functional import auc, epe, keypoint_errors, pck, pck_curve, sdr
from spinekey.evaluation.matching import match_results
from spinekey.utils.errors import SpineKeyError

PCK_THRS = (0.05, 0.1, 0.2)
SDR_PX = (6, 12, 18, 24)


def keypoint_names_of(gt: dict) -> List[str]:
    names = {tuple(c.get('keypoints') or ()) for c in gt['categories']}
    if len(names) != 1:
        raise SpineKeyError(f'ground truth has {len(names)} different keypoint lists; expected one')
    return list(next(iter(names)))


def collect_pairs(gt: dict, results: List[dict], iou_results: dict) -> Dict[str, np.ndarray]:
    """Arrays of matched pairs: pred/gt keypoints (M, K, 2), visibility (M, K), box norm (M,)."""
    k = len(keypoint_names_of(gt))
    anns = {a['id']: a for a in gt['annotations']}
    pred, true, vis, norm = [], [], [], []
    for image in iou_results['images']:
        for m in image['matches']:
            ann, res = anns[m['gt_id']], results[m['pred_index']]
            if 'keypoints' not in res:
                raise SpineKeyError(f'results entry {m["pred_index"]} has no "keypoints"')
            if len(res['keypoints']) != 3 * k:
                raise SpineKeyError(f'results entry {m["pred_index"]} has {len(res["keypoints"]) // 3} keypoints, '
                                    f'the ground truth has K={k}')
            g = np.asarray(ann['keypoints'], float).reshape(k, 3)
            pred.append(np.asarray(res['keypoints'], float).reshape(k, 3)[:, :2])
            true.append(g[:, :2])
            vis.append(g[:, 2] > 0)
            norm.append(max(ann['bbox'][2], ann['bbox'][3]))
    return {'pred': np.asarray(pred).reshape(-1, k, 2), 'gt': np.asarray(true).reshape(-1, k, 2),
            'visible': np.asarray(vis, bool).reshape(-1, k), 'norm': np.asarray(norm, float)}


def evaluate(gt: dict, results: List[dict], iou_results: Optional[dict] = None, iou_type: str = 'bbox',
             iou_thr: float = 0.5, score_thr: float = 0.3,
             sigmas: Optional[Sequence[float]] = None) -> Dict:
    """Every metric of DESIGN.md section 6 that the matched pairs and COCOeval give."""
    if not results:
        warnings.warn('empty results: every metric is 0')
    if iou_results is None:
        iou_results = match_results(gt, results, iou_type, iou_thr, score_thr)
    names = keypoint_names_of(gt)
    pairs = collect_pairs(gt, results, iou_results)
    n_gt = sum(len(im['matches']) + len(im['missed_gt_ids']) for im in iou_results['images'])
    n_tp = sum(len(im['matches']) for im in iou_results['images'])
    n_fp = sum(len(im['false_positive_indices']) for im in iou_results['images'])
    m = {'num_images': len(iou_results['images']), 'num_gt': n_gt, 'num_matched': n_tp,
         'num_false_positives': n_fp, 'recall': n_tp / n_gt if n_gt else float('nan'),
         'precision': n_tp / (n_tp + n_fp) if n_tp + n_fp else float('nan')}
    err = keypoint_errors(pairs['pred'], pairs['gt'])
    vis, norm = pairs['visible'], pairs['norm']
    if len(err):
        m['EPE'] = epe(err, vis)
        m['EPE_median'] = float(np.median(err[vis])) if vis.any() else float('nan')
        m['EPE_std'] = float(np.std(err[vis])) if vis.any() else float('nan')
        for t in PCK_THRS:
            m[f'PCK@{t}'] = pck(err, vis, norm, t)
        m['AUC'] = auc(err, vis, norm)
        for t in SDR_PX:
            m[f'SDR@{t}px'] = sdr(err, vis, t)
    else:
        m.update({'EPE': float('nan'), **{f'PCK@{t}': 0.0 for t in PCK_THRS}, 'AUC': 0.0})
    m.update(coco_ap(gt, results, 'bbox'))
    if any('segmentation' in r for r in results):
        m.update(coco_ap(gt, results, 'segm'))
    if names:
        m.update(coco_ap(gt, results, 'keypoints', sigmas))
    m['per_keypoint'] = {
        name: {'EPE': epe(err[:, j:j + 1], vis[:, j:j + 1]) if len(err) else float('nan'),
               'PCK@0.1': pck(err[:, j:j + 1], vis[:, j:j + 1], norm, 0.1) if len(err) else 0.0}
        for j, name in enumerate(names)}
    curve_thrs = [round(0.5 * i / 20, 4) for i in range(21)]
    m['pck_curve'] = {'thresholds': curve_thrs,
                      'pck': pck_curve(err, vis, norm, curve_thrs) if len(err) else [0.0] * 21}
    return m


REPORT_KEYS = (['num_images', 'num_gt', 'num_matched', 'num_false_positives', 'recall', 'precision']
               + [f'PCK@{t}' for t in PCK_THRS] + ['AUC', 'EPE', 'EPE_median', 'EPE_std']
               + [f'SDR@{t}px' for t in SDR_PX]
               + [f'{p}_{s}' for p in ('bbox', 'segm', 'kpt') for s in ('AP', 'AP50', 'AP75')])


def format_report(metrics: Dict) -> str:
    """Plain-text table of the headline metrics and the per-keypoint breakdown."""
    lines = ['SpineKey keypoint evaluation', '=' * 40]
    for key in REPORT_KEYS:
        if key in metrics:
            v = metrics[key]
            lines.append(f'{key:<22}{v:>12d}' if isinstance(v, int) else f'{key:<22}{v:>12.4f}')
    lines += ['', f'{"keypoint":<22}{"EPE (px)":>12}{"PCK@0.1":>12}']
    for name, v in metrics.get('per_keypoint', {}).items():
        lines.append(f'{name:<22}{v["EPE"]:>12.3f}{v["PCK@0.1"]:>12.4f}')
    return '\n'.join(lines) + '\n'
