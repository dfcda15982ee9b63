"""Evaluate a run (what ``tools/evaluate_keypoints.py`` does, callable from Python): results.json against
gts.json (matched here by box IoU unless an iou_results.json is given), then the report, metrics.json,
per_image.csv, per_level.csv and, optionally, the PCK curve, error histograms and worst-film overlays."""
from __future__ import annotations

import csv
import io
import os
import os.path as osp
from typing import List, Optional, Sequence, Tuple

from spinekey.evaluation.evaluate import collect_pairs, evaluate, format_report, keypoint_names_of
from spinekey.evaluation.functional import keypoint_errors
from spinekey.evaluation.matching import match_results
from spinekey.io.atomic import atomic_write_json, atomic_write_text
from spinekey.structures.results import DEFAULT_SCORE_THR
from spinekey.utils.errors import SpineKeyError


def per_image_csv(rows) -> str:
    buf = io.StringIO()
    fields = ['image_id', 'file_name', 'num_gt', 'num_matched', 'num_false_positives', 'EPE', 'PCK@0.1']
    writer = csv.DictWriter(buf, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def per_level_csv(per_level: dict) -> str:
    """One row per vertebra level, in anatomical order (the order metrics['per_level'] keeps)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(['level', 'count', 'EPE', 'PCK@0.1'])
    for level, v in per_level.items():
        writer.writerow([level, v['count'], v['EPE'], v['PCK@0.1']])
    return buf.getvalue()


def evaluate_run(gt: dict, results: List[dict], output: str, iou_results: Optional[dict] = None,
                 iou_thr: float = 0.5, score_thr: float = DEFAULT_SCORE_THR, auc_norm_px: Optional[float] = None
                 ) -> dict:
    """Every metric of ``results`` against ``gt``; the report goes to ``output``, metrics.json, per_image.csv
    and per_level.csv beside it. Returns the metrics (format_report(metrics) is the report's text)."""
    if iou_results is None:
        iou_results = match_results(gt, results, 'bbox', iou_thr, score_thr)
    metrics = evaluate(gt, results, iou_results, iou_thr=iou_thr, score_thr=score_thr, auc_norm_px=auc_norm_px)
    out_dir = osp.dirname(osp.abspath(output))
    atomic_write_text(output, format_report(metrics))
    atomic_write_json(osp.join(out_dir, 'metrics.json'), metrics, indent=2)
    if 'per_image' in metrics:  # keypoint datasets; a detection-only one has per-class AP instead
        atomic_write_text(osp.join(out_dir, 'per_image.csv'), per_image_csv(metrics['per_image']))
    if metrics.get('per_level'):
        atomic_write_text(osp.join(out_dir, 'per_level.csv'), per_level_csv(metrics['per_level']))
    return metrics


def write_evaluation_plots(plots: str, gt: dict, results: List[dict], iou_results: Optional[dict], metrics: dict,
                           img_prefix: str = '', score_thr: float = DEFAULT_SCORE_THR, iou_thr: float = 0.5
                           ) -> Optional[str]:
    """The PCK curve, per-keypoint error histograms and the worst films' overlays in ``plots``; returns a
    warning line when the overlays could not be drawn (films not found under ``img_prefix``)."""
    from spinekey.visualization.plots import plot_error_histograms, plot_pck_curve, save_worst_overlays
    if iou_results is None:
        iou_results = match_results(gt, results, 'bbox', iou_thr, score_thr)
    os.makedirs(plots, exist_ok=True)
    plot_pck_curve(metrics, osp.join(plots, 'pck_curve.png'))
    pairs = collect_pairs(gt, results, iou_results)
    if len(pairs['pred']):
        plot_error_histograms(keypoint_errors(pairs['pred'], pairs['gt']), pairs['visible'],
                              keypoint_names_of(gt), osp.join(plots, 'error_histograms.png'))
    try:
        save_worst_overlays(gt, results, metrics['worst_images'], img_prefix, plots, score_thr)
    except SpineKeyError as err:
        return f'warning: no worst-image overlays ({err}); set --img-prefix'
    return None


def evaluate_files(gt_file: str, result_file: str, output: str, iou_results_file: Optional[str] = None,
                   common_only: bool = False, iou_thr: float = 0.5, score_thr: float = DEFAULT_SCORE_THR,
                   auc_norm_px: Optional[float] = None, strict: bool = False, plots: Optional[str] = None,
                   img_prefix: str = '') -> Tuple[dict, Optional[str]]:
    """tools/evaluate_keypoints.py as one call: read the files, keep the films both cover when asked (or when
    the iou_results.json was matched that way: its indices must agree), evaluate, and draw the plots of a
    keypoint dataset. Returns (metrics, a warning line or None)."""
    from spinekey.io.image_sets import common_images
    from spinekey.io.coco_files import load_coco_gt, load_results, read_json
    gt = load_coco_gt(gt_file, strict=strict)
    results = load_results(result_file)
    iou_results = read_json(iou_results_file, 'iou_results file') if iou_results_file else None
    common = common_only or bool((iou_results or {}).get('common_images'))
    gt, results = common_images(gt, results, gt_file, result_file, common)
    if iou_results is None:
        iou_results = match_results(gt, results, 'bbox', iou_thr, score_thr)
    metrics = evaluate_run(gt, results, output, iou_results, iou_thr, score_thr, auc_norm_px)
    warning = None
    if plots and metrics.get('task') != 'detection':
        warning = write_evaluation_plots(plots, gt, results, iou_results, metrics, img_prefix, score_thr)
    return metrics, warning


def write_gt_for_results(anns_file: str, result_file: str, out: str, model_names: Sequence[str] = ()
                         ) -> Tuple[dict, Optional[str]]:
    """tools/convert_gt.py as one call: the COCO ground truth of exactly the films of ``result_file``, keyed by
    its image ids and with keypoints in the model's order (``model_names``), written to ``out``. Returns
    (gts, a warning line for result films without ground truth or None)."""
    from spinekey.converters.gt_conversion import convert_gt
    from spinekey.io.image_sets import FIX_HINT
    from spinekey.io.coco_files import load_coco_gt, load_results
    gt = load_coco_gt(anns_file)
    results = load_results(result_file)
    gts, unmatched = convert_gt(gt, results, list(model_names))
    n_results = len({r['image_id'] for r in results})
    if not gts['images']:
        raise SpineKeyError(f'{anns_file}: none of the {n_results} result images is in this ground truth '
                            '(images are paired by file name)')
    warning = None
    if unmatched:
        warning = (f'warning: {len(unmatched)} of the {n_results} result images have no ground truth in '
                   f'{anns_file} (e.g. {unmatched[:3]}); gts.json covers the other {len(gts["images"])}. '
                   f'{FIX_HINT[0].upper()}{FIX_HINT[1:]} (tools/match_iou.py, tools/evaluate_keypoints.py)')
    atomic_write_json(out, gts)
    return gts, warning
