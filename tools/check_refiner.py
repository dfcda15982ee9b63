#!/usr/bin/env python
"""Where a trained refiner's error comes from, on annotated held-out films and stage 1's results on them.

The true vertebrae that a detection pairs with (box IoU >= 0.5) are refined from four starts: the true corners,
the true corners with the refiner's training noise, with another vertebra's stage-1 error, and stage 1's own
corners. The first says what the refiner cannot see, the second against the third whether its training noise
is the kind stage 1 makes, the third against the fourth how much harder the vertebrae stage 1 errs on are
(docs/aasce.md, "What the refiner's training noise misses").

Example: python tools/check_refiner.py --config configs/refiner/refiner_lite0-integral_p192_5e_aasce_cpu.py \\
             --checkpoint work_dirs/refiner_fold0/epoch_5.pth \\
             --results work_dirs/aasce_lite0_cpu/eval_fold0/results.json \\
             --gt data/aasce/fold0_val.json --images-dir data/aasce/images --out work_dirs/refiner_fold0/check.json
"""
from __future__ import annotations

import argparse

from spinekey.io.atomic import atomic_write_json, protect_inputs
from spinekey.io.coco_files import load_coco_gt, load_results
from spinekey.utils.cli import run_cli


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--config', required=True, help='the refiner config (configs/refiner/...)')
    p.add_argument('--checkpoint', required=True, help='its weights (.pth)')
    p.add_argument('--results', required=True, help="stage 1's results.json on the films of --gt (not refined)")
    p.add_argument('--gt', required=True, help='COCO file of the same films, never the refiner\'s training films')
    p.add_argument('--images-dir', required=True, help='folder the file names are relative to')
    p.add_argument('--out', help='also write the numbers as JSON')
    p.add_argument('--score-thr', type=float, default=0.3, help='detections scoring less are left out (default 0.3)')
    p.add_argument('--seed', type=int, default=0, help='draws of the noise and of the moved errors (default 0)')
    return p.parse_args()


@run_cli
def main() -> int:
    args = parse_args()
    protect_inputs({'--config': args.config, '--checkpoint': args.checkpoint, '--results': args.results,
                    '--gt': args.gt})
    from spinekey.apis.refine import Refiner
    from spinekey.apis.refiner_check import check_refiner, format_check
    from spinekey.io.image_sets import common_images
    gt, results = common_images(load_coco_gt(args.gt), load_results(args.results), args.gt, args.results)
    result = check_refiner(Refiner(args.config, args.checkpoint), gt, results, args.images_dir, args.score_thr,
                           seed=args.seed)
    print(format_check(result))
    if args.out:
        atomic_write_json(args.out, result, indent=1)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
