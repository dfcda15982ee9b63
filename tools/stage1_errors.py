#!/usr/bin/env python
"""Write stage 1's corner errors on held-out films as an error bank for the refiner's training.

Each detection that pairs with a true vertebra (box IoU >= 0.5) gives its K keypoint errors in the vertebra's own
frame (turned level, divided by its size); the refiner's patches can then be framed with stage 1's real errors
instead of Gaussian noise (configs/_base_/datasets/aasce_patches.py: error_bank=..., error_bank_share=...).
Use predictions on films stage 1 did not train on and the refiner does train on, e.g. another fold's held-out
films; never those the refiner is judged on (docs/aasce.md).

Example: python tools/stage1_errors.py --results work_dirs/aasce_lite0_cpu_f1/eval_fold1/results.json \\
             --gt data/aasce/fold1_val.json --out work_dirs/error_bank_from_fold1.npy
"""
from __future__ import annotations

import argparse

from spinekey.io.atomic import atomic_write_bytes, protect_inputs
from spinekey.io.coco_files import load_coco_gt, load_results
from spinekey.utils.cli import run_cli
from spinekey.utils.errors import SpineKeyError


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--results', required=True, help="stage 1's results.json on the films of --gt")
    p.add_argument('--gt', required=True, help='COCO file of the same films with their true keypoints')
    p.add_argument('--out', required=True, help='the error bank to write (.npy)')
    p.add_argument('--score-thr', type=float, default=0.3, help='detections scoring less are left out (default 0.3)')
    return p.parse_args()


@run_cli
def main() -> int:
    args = parse_args()
    if not args.out.endswith('.npy'):
        raise SpineKeyError(f'--out {args.out}: the error bank is a .npy file')
    protect_inputs({'--results': args.results, '--gt': args.gt})
    from spinekey.apis.stage1_errors import bank_summary, error_bank_bytes, stage1_errors
    from spinekey.io.image_sets import common_images
    gt, results = common_images(load_coco_gt(args.gt), load_results(args.results), args.gt, args.results)
    bank = stage1_errors(gt, results, args.score_thr)
    atomic_write_bytes(args.out, error_bank_bytes(bank))
    films = len({r['image_id'] for r in results})
    print(f'{films} of {len(gt["images"])} films: {bank_summary(bank)} -> {args.out}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
