#!/usr/bin/env python
"""Match predictions to ground truth one-to-one per image (Hungarian on mask or box IoU) -> iou_results.json."""
from __future__ import annotations

import argparse

from spinekey.evaluation.evaluate import detection_counts
from spinekey.io.image_sets import common_images
from spinekey.evaluation.matching import match_results
from spinekey.io.atomic import atomic_write_json, protect_inputs
from spinekey.io.coco_files import load_coco_gt, load_results
from spinekey.utils.cli import run_cli
from spinekey.structures.results import DEFAULT_SCORE_THR


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--gt_file', '--gt-file', required=True, help='gts.json')
    p.add_argument('--result_file', '--result-file', required=True, help='results.json')
    p.add_argument('--out', required=True, help='iou_results.json to write')
    p.add_argument('--iou_type', '--iou-type', choices=['segm', 'bbox'], default='segm')
    p.add_argument('--iou_threshold', '--iou-threshold', type=float, default=0.5)
    p.add_argument('--score_thr', '--score-thr', type=float, default=DEFAULT_SCORE_THR,
                   help='predictions below this score are not matched')
    p.add_argument('--common-images', action='store_true',
                   help='results and GT cover different images: match only the images both cover')
    return p.parse_args()


@run_cli
def main() -> int:
    args = parse_args()
    protect_inputs({'--gt_file': args.gt_file, '--result_file': args.result_file})
    gt, results = common_images(load_coco_gt(args.gt_file), load_results(args.result_file), args.gt_file,
                                args.result_file, args.common_images)
    out = match_results(gt, results, args.iou_type, args.iou_threshold, args.score_thr)
    # pred_index then counts within the common images: evaluate_keypoints.py reads this and cuts alike
    out['common_images'] = args.common_images
    atomic_write_json(args.out, out, indent=1)
    counts = detection_counts(out)
    print(f'wrote {args.out}: {counts["num_matched"]} matches, {counts["num_gt"] - counts["num_matched"]} missed GT, '
          f'{counts["num_false_positives"]} false positives '
          f'({args.iou_type} IoU >= {args.iou_threshold})')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
