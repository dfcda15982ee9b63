#!/usr/bin/env python
"""Evaluate results.json against gts.json: PCK, AUC, EPE, SDR, recall/precision and COCO AP.

Writes the report to --output, every number to metrics.json, one row per image to per_image.csv and one
per vertebra level (anatomical order) to per_level.csv in the same folder; --plots DIR adds a PCK curve,
per-keypoint error histograms and overlays of the worst images.
"""
from __future__ import annotations

import argparse
import sys

from spinekey.apis.evaluate_run import evaluate_files
from spinekey.evaluation.evaluate import format_report
from spinekey.io.atomic import protect_inputs
from spinekey.structures.results import DEFAULT_SCORE_THR
from spinekey.utils.cli import run_cli


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


@run_cli
def main() -> int:
    args = parse_args()
    protect_inputs({'--gt_file': args.gt_file, '--result_file': args.result_file, '--iou_results': args.iou_results})
    metrics, warning = evaluate_files(args.gt_file, args.result_file, args.output, args.iou_results,
                                      args.common_images, args.iou_threshold, args.score_thr, args.auc_norm_px,
                                      args.strict, args.plots, args.img_prefix)
    if warning:
        print(warning, file=sys.stderr)
    report = format_report(metrics)
    print(report, end='')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
