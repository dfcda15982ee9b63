#!/usr/bin/env python
"""Write gts.json: the COCO ground truth of exactly the images in results.json, keyed by the results'
image ids (images paired by file name) and with keypoints re-ordered by name to the model's order."""
from __future__ import annotations

import argparse
import sys

from spinekey.apis.evaluate_run import write_gt_for_results
from spinekey.io.atomic import protect_inputs
from spinekey.io.checkpoint import checkpoint_dataset_meta
from spinekey.utils.cli import run_cli


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
    if args.checkpoint:
        model_names = checkpoint_dataset_meta(args.checkpoint).get('keypoint_names') or []
    else:
        model_names = args.keypoint_names.split(',') if args.keypoint_names else []
    gts, warning = write_gt_for_results(args.anns, args.results, args.out, model_names)
    if warning:
        print(warning, file=sys.stderr)
    print(f'wrote {args.out}: {len(gts["images"])} images, {len(gts["annotations"])} annotations')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
