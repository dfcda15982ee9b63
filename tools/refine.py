#!/usr/bin/env python
"""Re-place the keypoints of saved stage-1 predictions with the refiner (stage 2): each vertebra on its own
full-resolution patch, turned so its endplates are level. Writes a results.json whose ``keypoints`` are the
refined ones, with ``keypoints_stage1`` and the learned ``keypoint_unc`` beside them; evaluate and measure it
like any results.json. Cheap iteration: one refiner, any saved stage-1 run.
"""
from __future__ import annotations

import argparse
import sys

from tqdm import tqdm

from spinekey.io.atomic import protect_inputs
from spinekey.utils.cli import run_cli


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--results', required=True, help='stage-1 results.json (tools/infer.py, inference.sh)')
    p.add_argument('--images-dir', required=True, help='folder the results\' file names are relative to (the '
                   'films at their native resolution)')
    p.add_argument('--config', required=True, help='refiner config, e.g. '
                   'configs/refiner/refiner_lite0-integral_p192_5e_aasce_cpu.py')
    p.add_argument('--checkpoint', required=True, help='refiner weights (.pth)')
    p.add_argument('--out', required=True, help='refined results.json to write (atomically)')
    p.add_argument('--keypoint-names', help='keypoint order of the results, comma separated (default: the 4-corner '
                   'or 6-point set for K)')
    p.add_argument('--passes', type=int, help='refine the refined corners again N-1 times (default: the config\'s)')
    p.add_argument('--rotate-test', type=float, default=None, metavar='DEG', help='also cut each patch turned by '
                   "+DEG and -DEG and average the corners (three times the time; default: the config's, off)")
    flip = p.add_mutually_exclusive_group()
    flip.add_argument('--flip-test', dest='flip_test', action='store_true', default=None,
                      help="also cut each patch mirrored left-right and average the corners (twice the time; "
                           "default: the config's refine.flip_test, off)")
    flip.add_argument('--no-flip-test', dest='flip_test', action='store_false', help='no mirrored patch')
    fill = p.add_mutually_exclusive_group()
    fill.add_argument('--fill-missed', dest='fill_missed', action='store_true', default=None,
                      help='also place the levels stage 1 missed inside the column: a seed interpolated between '
                           'two neighbours one or two spacings too far apart, re-placed by the refiner and written '
                           "as a new entry marked \"filled\" (default: the config's refine.fill_missed, off)")
    fill.add_argument('--no-fill-missed', dest='fill_missed', action='store_false', help='place no missed level')
    p.add_argument('--blend', metavar='ivw|W', help="combine the refined keypoints with stage 1's: 'ivw' weights "
                   "each keypoint by the inverse of each stage's variance (needs stage 1's keypoint_unc), a number W "
                   "in [0, 1] is the refiner's weight (default: the config's refine.blend, off)")
    p.add_argument('--score-thr', type=float, default=0.0, help='refine detections with score >= T (default all)')
    p.add_argument('--device', default='cpu', help='cpu or cuda:N (default cpu)')
    return p.parse_args()


@run_cli
def main() -> int:
    args = parse_args()
    protect_inputs({'--results': args.results, '--config': args.config, '--checkpoint': args.checkpoint})
    from spinekey.apis.refine import Refiner, refine_results_file
    run = refine_results_file(
        lambda: Refiner(args.config, args.checkpoint, device=args.device, passes=args.passes,
                        rotate_test=args.rotate_test, blend=args.blend, flip_test=args.flip_test,
                        fill_missed=args.fill_missed),
        args.results, args.out, args.images_dir,
        args.keypoint_names.split(',') if args.keypoint_names else None, args.score_thr,
        progress=lambda films: tqdm(films, desc='refine', unit='film', file=sys.stderr))
    for line in run.skipped:
        print(f'skipped: {line}', file=sys.stderr)
    print(f'wrote {args.out}: {run.refined} of {run.total} detections refined '
          f'({run.passes} pass{"es" if run.passes > 1 else ""})'
          + (f', {run.filled} missed level(s) placed' if run.filled else ''))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
