#!/usr/bin/env python
"""Write a results.json whose keypoints are the corners of each predicted mask (minimum-area rectangle of
its contour), the way the original SpineKey derived corners: evaluate it like any results.json to see what
the keypoint head adds."""
from __future__ import annotations

import argparse

from spinekey.structures.keypoint_names import CORNERS_4
from spinekey.evaluation.mask_corner_baseline import results_with_mask_corners
from spinekey.io.atomic import atomic_write_json, protect_inputs
from spinekey.io.coco_files import load_results
from spinekey.utils.cli import run_cli
from spinekey.utils.errors import SpineKeyError


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--results', required=True, help='results.json from tools/infer.py (with masks)')
    p.add_argument('--out', required=True, help='results.json to write')
    p.add_argument('--keypoint-names', default=','.join(CORNERS_4), help='the model keypoint order')
    return p.parse_args()


@run_cli
def main() -> int:
    args = parse_args()
    protect_inputs({'--results': args.results})
    results = load_results(args.results)
    if results and not any(r.get('segmentation') for r in results):
        raise SpineKeyError(f'{args.results}: no masks in these results (a detection-only model?)')
    out = results_with_mask_corners(results, args.keypoint_names.split(','))
    atomic_write_json(args.out, out)
    print(f'wrote {args.out}: {len(out)} detections with mask-corner keypoints')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
