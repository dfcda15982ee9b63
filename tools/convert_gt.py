#!/usr/bin/env python
"""Write gts.json: the COCO ground truth of exactly the images in results.json, keyed by the results'
image ids (images paired by file name) and with keypoints re-ordered by name to the model's order."""
from __future__ import annotations

import argparse
import sys

from spinekey.evaluation.image_sets import FIX_HINT
from spinekey.io.atomic import atomic_write_json, protect_inputs
from spinekey.io.checkpoint import checkpoint_dataset_meta
from spinekey.io.coco_files import load_coco_gt, load_results
from spinekey.converters.gt_conversion import convert_gt
from spinekey.utils.cli import run_cli
from spinekey.utils.errors import SpineKeyError


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--anns', required=True, help='COCO ground truth of the dataset')
    p.add_argument('--results', required=True, help='results.json from tools/infer.py')
    p.add_argument('--out', required=True, help='gts.json to write')
    names = p.add_mutually_exclusive_group()
    names.add_argument('--checkpoint', help='read the model keypoint order from this checkpoint')
    names.add_argument('--keypoint-names', help='the model keypoint order, comma separated')
    return p.parse_args()


@run_cli
def main() -> int:
    args = parse_args()
    protect_inputs({'--anns': args.anns, '--results': args.results, '--checkpoint': args.checkpoint})
    gt = load_coco_gt(args.anns)
    results = load_results(args.results)
    if args.checkpoint:
        meta = checkpoint_dataset_meta(args.checkpoint)
        model_names = meta.get('keypoint_names') or []
    else:
        model_names = args.keypoint_names.split(',') if args.keypoint_names else []
    gts, unmatched = convert_gt(gt, results, model_names)
    if not gts['images']:
        raise SpineKeyError(f'{args.anns}: none of the {len({r["image_id"] for r in results})} result images '
                            'is in this ground truth (images are paired by file name)')
    if unmatched:
        n_results = len({r['image_id'] for r in results})
        print(f'warning: {len(unmatched)} of the {n_results} result images have no ground truth in {args.anns} '
              f'(e.g. {unmatched[:3]}); gts.json covers the other {len(gts["images"])}. {FIX_HINT[0].upper()}'
              f'{FIX_HINT[1:]} (tools/match_iou.py, tools/evaluate_keypoints.py)', file=sys.stderr)
    atomic_write_json(args.out, gts)
    print(f'wrote {args.out}: {len(gts["images"])} images, {len(gts["annotations"])} annotations')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
