#!/usr/bin/env python
"""Evaluate results.json against gts.json: PCK, AUC, EPE, SDR, recall/precision and COCO AP.

Writes the report to --output, every number to metrics.json, one row per image to per_image.csv and one
per vertebra level (anatomical order) to per_level.csv in the same folder; --plots DIR adds a PCK curve,
per-keypoint error histograms and overlays of the worst images.
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import os.path as osp
import sys

from spinekey.evaluation.evaluate import collect_pairs, evaluate, format_report, keypoint_names_of
from spinekey.evaluation.functional import keypoint_errors
from spinekey.evaluation.image_sets import common_images
from spinekey.evaluation.matching import match_results
from spinekey.io.atomic import atomic_write_json, atomic_write_text, protect_inputs
from spinekey.io.coco_files import load_coco_gt, load_results, read_json
from spinekey.utils.cli import run_cli
from spinekey.utils.errors import SpineKeyError
from spinekey.structures.results import DEFAULT_SCORE_THR


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--gt_file', '--gt-file', required=True, help='COCO ground truth (gts.json)')
    p.add_argument('--result_file', '--result-file', required=True, help='COCO results (results.json)')
    p.add_argument('--output', required=True, help='report path, e.g. out/evaluation_indicators.txt')
    p.add_argument('--iou_results', '--iou-results', help='iou_results.json from tools/match_iou.py '
                   '(default: match here by box IoU)')
    p.add_argument('--iou_threshold', '--iou-threshold', type=float, default=0.5)
    p.add_argument('--score_thr', '--score-thr', type=float, default=DEFAULT_SCORE_THR,
                   help='detections below this score are ignored for matching (COCO AP uses all)')
    p.add_argument('--auc-norm-px', type=float, default=None,
                   help="AUC on errors / P pixels (MMPose's keypoint_auc) instead of the box size")
    p.add_argument('--plots', help='folder for the PCK curve, error histograms and worst-image overlays')
    p.add_argument('--strict', action='store_true', help='annotation warnings become errors')
    p.add_argument('--img-prefix', default='', help='folder of the GT file_name entries (for the overlays)')
    p.add_argument('--common-images', action='store_true',
                   help='results and GT cover different images: evaluate only the images both cover')
    return p.parse_args()


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


def write_plots(args, gt, results, iou_results, metrics) -> None:
    from spinekey.visualization.plots import plot_error_histograms, plot_pck_curve, save_worst_overlays
    os.makedirs(args.plots, exist_ok=True)
    plot_pck_curve(metrics, osp.join(args.plots, 'pck_curve.png'))
    pairs = collect_pairs(gt, results, iou_results)
    if len(pairs['pred']):
        plot_error_histograms(keypoint_errors(pairs['pred'], pairs['gt']), pairs['visible'],
                              keypoint_names_of(gt), osp.join(args.plots, 'error_histograms.png'))
    try:
        save_worst_overlays(gt, results, metrics['worst_images'], args.img_prefix, args.plots, args.score_thr)
    except SpineKeyError as err:
        print(f'warning: no worst-image overlays ({err}); set --img-prefix', file=sys.stderr)


@run_cli
def main() -> int:
    args = parse_args()
    protect_inputs({'--gt_file': args.gt_file, '--result_file': args.result_file, '--iou_results': args.iou_results})
    gt = load_coco_gt(args.gt_file, strict=args.strict)
    results = load_results(args.result_file)
    iou_results = read_json(args.iou_results, 'iou_results file') if args.iou_results else None
    common = args.common_images or bool((iou_results or {}).get('common_images'))  # indices must agree
    gt, results = common_images(gt, results, args.gt_file, args.result_file, common)
    if iou_results is None:
        iou_results = match_results(gt, results, 'bbox', args.iou_threshold, args.score_thr)
    metrics = evaluate(gt, results, iou_results, iou_thr=args.iou_threshold, score_thr=args.score_thr,
                       auc_norm_px=args.auc_norm_px)
    report = format_report(metrics)
    out_dir = osp.dirname(osp.abspath(args.output))
    atomic_write_text(args.output, report)
    atomic_write_json(osp.join(out_dir, 'metrics.json'), metrics, indent=2)
    if 'per_image' in metrics:  # keypoint datasets; a detection-only one has per-class AP instead
        atomic_write_text(osp.join(out_dir, 'per_image.csv'), per_image_csv(metrics['per_image']))
    if metrics.get('per_level'):
        atomic_write_text(osp.join(out_dir, 'per_level.csv'), per_level_csv(metrics['per_level']))
    if args.plots and metrics.get('task') != 'detection':
        write_plots(args, gt, results, iou_results, metrics)
    print(report, end='')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
