#!/usr/bin/env python
"""Generate the synthetic spine radiograph dataset (images, det_{train,val,test}.json, truth.json)."""
from __future__ import annotations

import argparse
import time

from tqdm import tqdm

from spinekey.datasets.synthetic import SyntheticSpec, write_dataset
from spinekey.utils.cli import run_cli
from spinekey.utils.errors import SpineKeyError


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--out', required=True, help='output folder (created)')
    p.add_argument('--num-images', type=int, default=200, help='total images, split 80/10/10 (default 200)')
    p.add_argument('--keypoints', type=int, choices=[4, 6], default=4, help='4 corners or 6 points')
    p.add_argument('--seed', type=int, default=0, help='same seed, same dataset (default 0)')
    p.add_argument('--width', type=int, default=384)
    p.add_argument('--height', type=int, default=512)
    p.add_argument('--min-vertebrae', type=int, default=5)
    p.add_argument('--max-vertebrae', type=int, default=17)
    p.add_argument('--column-ends', action='store_true',
                   help='columns that run from C7 or down to the sacrum (S1), drawn as their anatomy differs (C7 '
                        'smaller, S1 wide and tilted with the fused segments below it), labelled with their levels: '
                        'the set the level-chain model is checked on (at most 19 vertebrae)')
    p.add_argument('--quiet', action='store_true', help='no progress bar')
    return p.parse_args()


@run_cli
def main() -> int:
    args = parse_args()
    spec = SyntheticSpec(width=args.width, height=args.height, min_vertebrae=args.min_vertebrae,
                         max_vertebrae=args.max_vertebrae, num_keypoints=args.keypoints,
                         column_ends=args.column_ends)
    try:
        spec.validate()
    except ValueError as err:
        raise SpineKeyError(str(err)) from None
    if args.num_images < 1:
        raise SpineKeyError(f'--num-images must be 1 or more, got {args.num_images}')
    start = time.time()
    progress = None if args.quiet else (lambda it: tqdm(it, desc='rendering', unit='img'))
    sizes = write_dataset(args.out, args.num_images, spec, seed=args.seed, progress=progress)
    took = time.time() - start
    print(f'wrote {args.num_images} images to {args.out} (train {sizes["train"]}, val {sizes["val"]}, '
          f'test {sizes["test"]}) in {took:.1f}s ({args.num_images / max(took, 1e-9):.0f} img/s)')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
