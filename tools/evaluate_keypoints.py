#!/usr/bin/env python
"""Evaluate results.json against gts.json: PCK, AUC, EPE, SDR, recall/precision and COCO AP.

Writes the report to --output and every number to metrics.json in the same folder.
"""
from __future__ import annotations

import argparse
import os.path as osp

from spinekey.evaluation.evaluate import evaluate, format_report
from spinekey.io.atomic import atomic_write_json, atomic_write_text
from spinekey.io.coco_files import load_coco_gt, load_results, read_json
from spinekey.utils.cli import run_cli


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--gt_file', '--gt-file', required=True, help='COCO ground truth (gts.json)')
    p.add_argument('--result_file', '--result-file', required=True, help='COCO results (results.json)')
    p.add_argument('--output', required=True, help='report path, e.g. out/evaluation_indicators.txt')
    p.add_argument('--iou_results', '--iou-results', help='iou_results.json from tools/match_iou.py '
                   '(default: match here by box IoU)')
    p.add_argument('--iou_threshold', '--iou-threshold', type=float, default=0.5)
    p.add_argument('--score_thr', '--score-thr', type=float, default=0.3,
                   help='detections below this score are ignored for matching (COCO AP uses all)')
    return p.parse_args()


@run_cli
def main() -> int:
    args = parse_args()
    gt = load_coco_gt(args.gt_file)
    results = load_results(args.result_file)
    iou_results = read_json(args.iou_results, 'iou_results file') if args.iou_results else None
    metrics = evaluate(gt, results, iou_results, iou_thr=args.iou_threshold, score_thr=args.score_thr)
    report = format_report(metrics)
    atomic_write_text(args.output, report)
    atomic_write_json(osp.join(osp.dirname(osp.abspath(args.output)), 'metrics.json'), metrics, indent=2)
    print(report, end='')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
