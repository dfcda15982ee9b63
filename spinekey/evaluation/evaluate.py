"""Full evaluation of a results list against COCO GT: matching, keypoint metrics, COCO AP.

Returns a flat dict of numbers (the keys of metrics.json, e.g. ``PCK@0.1``, ``EPE``, ``bbox_AP``) plus
``per_keypoint`` and ``pck_curve`` breakdowns.
"""
from __future__ import annotations

import sys
from collections import defaultdict
from typing import Dict, List, Optional, Sequence

import numpy as np

from spinekey.evaluation.coco_ap import coco_ap, coco_ap_per_class
from spinekey.evaluation.functional import auc, epe, keypoint_errors, line_tilt_errors, pck, pck_curve, sdr
from spinekey.evaluation.matching import match_results
from spinekey.io.coco_files import annotations_without_mask
from spinekey.utils.errors import SpineKeyError
from spinekey.structures.levels import level_sort_key

PCK_THRS = (0.05, 0.1, 0.2)
SDR_PX = (6, 12, 18, 24)
SDR_MM = (2, 2.5, 3, 4)


def keypoint_names_of(gt: dict) -> List[str]:
    names = {tuple(c.get('keypoints') or ()) for c in gt['categories']}
    if len(names) != 1:
        raise SpineKeyError(f'ground truth has {len(names)} different keypoint lists; expected one')
    return list(next(iter(names)))


def collect_pairs(gt: dict, results: List[dict], iou_results: dict) -> Dict[str, np.ndarray]:
    """Arrays over matched pairs: pred/gt keypoints (M, K, 2), visibility (M, K), box norm (M,),
    image id (M,), vertebra level (M,; '' when unlabelled) and pixel spacing (M, 2; NaN when unknown)."""
    k = len(keypoint_names_of(gt))
    anns = {a['id']: a for a in gt['annotations']}
    spacing_of = {im['id']: im.get('pixel_spacing') for im in gt['images']}
    rows = {key: [] for key in ('pred', 'gt', 'visible', 'norm', 'image_id', 'level', 'spacing')}
    for image in iou_results['images']:
        for m in image['matches']:
            ann, res = anns[m['gt_id']], results[m['pred_index']]
            if 'keypoints' not in res:
                raise SpineKeyError(f'results entry {m["pred_index"]} has no "keypoints"')
            if len(res['keypoints']) != 3 * k:
                raise SpineKeyError(f'results entry {m["pred_index"]} has {len(res["keypoints"]) // 3} keypoints, '
                                    f'the ground truth has K={k}')
            g = np.asarray(ann['keypoints'], float).reshape(k, 3)
            rows['pred'].append(np.asarray(res['keypoints'], float).reshape(k, 3)[:, :2])
            rows['gt'].append(g[:, :2])
            rows['visible'].append(g[:, 2] > 0)
            rows['norm'].append(max(ann['bbox'][2], ann['bbox'][3]))
            rows['image_id'].append(ann['image_id'])
            rows['level'].append(str(ann.get('label') or ''))
            rows['spacing'].append(spacing_of.get(ann['image_id']) or [np.nan, np.nan])
    return {'pred': np.asarray(rows['pred'], float).reshape(-1, k, 2),
            'gt': np.asarray(rows['gt'], float).reshape(-1, k, 2),
            'visible': np.asarray(rows['visible'], bool).reshape(-1, k),
            'norm': np.asarray(rows['norm'], float), 'image_id': np.asarray(rows['image_id']),
            'level': np.asarray(rows['level'], dtype=object),
            'spacing': np.asarray(rows['spacing'], float).reshape(-1, 2)}


def detection_counts(iou_results: dict) -> Dict:
    """GT, matched and false-positive counts of an iou_results structure, with recall and precision."""
    n_gt = sum(len(im['matches']) + len(im['missed_gt_ids']) for im in iou_results['images'])
    n_tp = sum(len(im['matches']) for im in iou_results['images'])
    n_fp = sum(len(im['false_positive_indices']) for im in iou_results['images'])
    return {'num_images': len(iou_results['images']), 'num_gt': n_gt, 'num_matched': n_tp,
            'num_false_positives': n_fp, 'recall': n_tp / n_gt if n_gt else float('nan'),
            'precision': n_tp / (n_tp + n_fp) if n_tp + n_fp else float('nan')}


def _pixel_metrics(err, vis, norm, auc_norm_px: Optional[float]) -> Dict:
    m = {'EPE': epe(err, vis), 'EPE_median': float(np.median(err[vis])) if vis.any() else float('nan'),
         'EPE_std': float(np.std(err[vis])) if vis.any() else float('nan')}
    for t in PCK_THRS:
        m[f'PCK@{t}'] = pck(err, vis, norm, t)
    m['AUC'] = auc(err, vis, np.full(len(err), auc_norm_px) if auc_norm_px else norm)
    for t in SDR_PX:
        m[f'SDR@{t}px'] = sdr(err, vis, t)
    return m


def _mm_metrics(pairs: Dict, vis: np.ndarray) -> Dict:
    """MRE and SDR in millimetres over the pairs whose image has a pixel spacing [row_mm, col_mm]."""
    known = np.isfinite(pairs['spacing']).all(axis=1)
    if not known.any():
        return {}
    diff = pairs['pred'][known] - pairs['gt'][known]
    row_mm, col_mm = pairs['spacing'][known, 0], pairs['spacing'][known, 1]
    err_mm = np.hypot(diff[..., 0] * col_mm[:, None], diff[..., 1] * row_mm[:, None])
    v = vis[known]
    m = {'MRE_mm': epe(err_mm, v), 'MRE_mm_std': float(np.std(err_mm[v])) if v.any() else float('nan'),
         'MRE_mm_median': float(np.median(err_mm[v])) if v.any() else float('nan')}
    for t in SDR_MM:
        m[f'SDR@{t}mm'] = sdr(err_mm, v, t)
    return m


def _strict_pck(err, vis, norm, gt: dict, iou_results: dict) -> Dict:
    """PCK where every visible keypoint of a missed GT vertebra counts as wrong."""
    anns = {a['id']: a for a in gt['annotations']}
    missed_visible = sum(int((np.asarray(anns[i]['keypoints'], float).reshape(-1, 3)[:, 2] > 0).sum())
                         for im in iou_results['images'] for i in im['missed_gt_ids'])
    total = int(vis.sum()) + missed_visible
    out = {}
    for t in PCK_THRS:
        correct = int(((err / norm[:, None] < t) & vis).sum()) if len(err) else 0
        out[f'strict_PCK@{t}'] = correct / total if total else float('nan')
    return out


def _breakdowns(err, vis, norm, pairs, names, gt, results, iou_results) -> Dict:
    per_keypoint = {name: {'EPE': epe(err[:, j:j + 1], vis[:, j:j + 1]),
                           'PCK@0.1': pck(err[:, j:j + 1], vis[:, j:j + 1], norm, 0.1)}
                    for j, name in enumerate(names)}
    per_level = {}
    for level in sorted(set(pairs['level']) - {''}, key=level_sort_key):
        sel = pairs['level'] == level
        per_level[level] = {'count': int(sel.sum()), 'EPE': epe(err[sel], vis[sel]),
                            'PCK@0.1': pck(err[sel], vis[sel], norm[sel], 0.1)}
    file_names = {im['id']: im.get('file_name', '') for im in gt['images']}
    rows_of = defaultdict(list)
    for i, image_id in enumerate(pairs['image_id'].tolist()):
        rows_of[image_id].append(i)
    per_image = []
    for im in iou_results['images']:
        sel = np.asarray(rows_of.get(im['image_id'], []), int)
        per_image.append({'image_id': im['image_id'], 'file_name': file_names.get(im['image_id'], ''),
                          'num_gt': len(im['matches']) + len(im['missed_gt_ids']),
                          'num_matched': len(im['matches']), 'num_false_positives': len(im['false_positive_indices']),
                          'EPE': epe(err[sel], vis[sel]) if len(sel) else float('nan'),
                          'PCK@0.1': pck(err[sel], vis[sel], norm[sel], 0.1) if len(sel) else float('nan')})
    ranked = sorted((r for r in per_image if np.isfinite(r['EPE'])), key=lambda r: -r['EPE'])
    return {'per_keypoint': per_keypoint, 'per_level': per_level, 'per_image': per_image,
            'worst_images': [r['image_id'] for r in ranked[:10]]}


def evaluate(gt: dict, results: List[dict], iou_results: Optional[dict] = None, iou_type: str = 'bbox',
             iou_thr: float = 0.5, score_thr: float = 0.3, sigmas: Optional[Sequence[float]] = None,
             auc_norm_px: Optional[float] = None, coco: bool = True) -> Dict:
    """Every metric of docs/inference_and_evaluation.md ("Evaluate") from the matched pairs (and COCOeval when
    ``coco``).

    ``auc_norm_px`` switches AUC to MMPose's pixel-normalised variant (errors / that many pixels).
    """
    if not results:
        print('warning: no detections in the results: every metric is 0', file=sys.stderr)
    if iou_results is None:
        iou_results = match_results(gt, results, iou_type, iou_thr, score_thr)
    names = keypoint_names_of(gt)
    if not names:  # a detection-only dataset (e.g. lesions in several classes): boxes, masks, per class
        return _detection_metrics(gt, results, iou_results, coco)
    pairs = collect_pairs(gt, results, iou_results)
    err = keypoint_errors(pairs['pred'], pairs['gt'])
    vis, norm = pairs['visible'], pairs['norm']
    m = detection_counts(iou_results)
    if len(err):
        m.update(_pixel_metrics(err, vis, norm, auc_norm_px))
        m.update(_mm_metrics(pairs, vis))
        m.update(_tilt_metrics(pairs, vis, names))
    else:
        m.update({'EPE': float('nan'), **{f'PCK@{t}': 0.0 for t in PCK_THRS}, 'AUC': 0.0})
    m.update(_strict_pck(err, vis, norm, gt, iou_results))
    if coco:
        m.update(_box_and_mask_ap(gt, results))
        if names:
            # per-keypoint OKS sigmas: argument, else the category's ``sigmas`` field, else 0.025 each
            m.update(coco_ap(gt, results, 'keypoints', sigmas or gt['categories'][0].get('sigmas')))
        if len(gt['categories']) > 1:
            m['per_class'] = coco_ap_per_class(gt, results, 'bbox')
    m.update(_breakdowns(err, vis, norm, pairs, names, gt, results, iou_results))
    curve_thrs = [round(0.5 * i / 20, 4) for i in range(21)]
    m['pck_curve'] = {'thresholds': curve_thrs,
                      'pck': pck_curve(err, vis, norm, curve_thrs) if len(err) else [0.0] * 21}
    return m


ENDPLATES = (('top_left', 'top_right'), ('bottom_left', 'bottom_right'))


def _tilt_metrics(pairs: dict, vis: np.ndarray, names: Sequence[str]) -> Dict:
    """``endplate_tilt_error_deg`` (mean, median): how far each matched vertebra's endplates are turned from
    the true ones, when the keypoint set names its corners."""
    lines = [(names.index(a), names.index(b)) for a, b in ENDPLATES if a in names and b in names]
    if not lines:
        return {}
    tilt = line_tilt_errors(np.asarray(pairs['pred']), np.asarray(pairs['gt']), lines, np.asarray(vis) > 0)
    if not len(tilt):
        return {}
    return {'endplate_tilt_error_deg': float(tilt.mean()), 'endplate_tilt_error_deg_median': float(np.median(tilt))}


def _box_and_mask_ap(gt: dict, results: List[dict]) -> Dict[str, float]:
    """COCO box AP, and mask AP where the results carry masks and the GT has them (a keypoint-only GT has none)."""
    m = coco_ap(gt, results, 'bbox')
    if any('segmentation' in r for r in results) and not annotations_without_mask(gt):
        m.update(coco_ap(gt, results, 'segm'))
    return m


def _detection_metrics(gt: dict, results: List[dict], iou_results: dict, coco: bool) -> Dict:
    m = dict(detection_counts(iou_results), task='detection')
    if coco:
        m.update(_box_and_mask_ap(gt, results))
        m['per_class'] = coco_ap_per_class(gt, results, 'bbox')
    return m


REPORT_KEYS = (['num_images', 'num_gt', 'num_matched', 'num_false_positives', 'recall', 'precision']
               + [f'PCK@{t}' for t in PCK_THRS] + [f'strict_PCK@{t}' for t in PCK_THRS]
               + ['AUC', 'EPE', 'EPE_median', 'EPE_std', 'endplate_tilt_error_deg', 'endplate_tilt_error_deg_median']
               + [f'SDR@{t}px' for t in SDR_PX]
               + ['MRE_mm', 'MRE_mm_median', 'MRE_mm_std'] + [f'SDR@{t}mm' for t in SDR_MM]
               + [f'{p}_{s}' for p in ('bbox', 'segm', 'kpt') for s in ('AP', 'AP50', 'AP75')])


def format_report(metrics: Dict) -> str:
    """Plain-text table of the headline metrics and the per-keypoint breakdown."""
    lines = ['SpineKey keypoint evaluation', '=' * 40]
    for key in REPORT_KEYS:
        if key in metrics:
            v = metrics[key]
            lines.append(f'{key:<22}{v:>12d}' if isinstance(v, int) else f'{key:<22}{v:>12.4f}')
    if metrics.get('per_keypoint'):
        lines += ['', f'{"keypoint":<22}{"EPE (px)":>12}{"PCK@0.1":>12}']
    for name, v in metrics.get('per_keypoint', {}).items():
        lines.append(f'{name:<22}{v["EPE"]:>12.3f}{v["PCK@0.1"]:>12.4f}')
    if metrics.get('per_level'):
        lines += ['', f'{"level":<10}{"count":>12}{"EPE (px)":>12}{"PCK@0.1":>12}']
        for level, v in metrics['per_level'].items():
            lines.append(f'{level:<10}{v["count"]:>12d}{v["EPE"]:>12.3f}{v["PCK@0.1"]:>12.4f}')
    if metrics.get('per_class'):
        lines += ['', f'{"class":<22}{"n_gt":>8}{"bbox AP":>12}{"bbox AP50":>12}']
        for name, v in metrics['per_class'].items():
            lines.append(f'{name:<22}{v["n_gt"]:>8d}{v["AP"]:>12.4f}{v["AP50"]:>12.4f}')
    if metrics.get('worst_images'):
        lines += ['', 'worst images by EPE: ' + ', '.join(str(i) for i in metrics['worst_images'])]
    return '\n'.join(lines) + '\n'
