#!/usr/bin/env python
"""Check a trained end-level classifier on annotated films it did not train on (a held-out fold), without a
stage-1 run: how often it reads the ends of their true T1-L5 columns right when a level is added above or below
the column or T1 / L5 is missed, with stage-1-like corner errors, and each class's accuracy. Writes the numbers
as JSON; the real test is tools/measure.py --end-levels-config on stage 1's predictions (docs/aasce.md).
"""
from __future__ import annotations

import argparse
import json

from spinekey.io.atomic import protect_inputs
from spinekey.utils.cli import run_cli


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--config', required=True,
                   help='end-level config, e.g. configs/end_levels/end-levels_lite0_6e_aasce_cpu.py')
    p.add_argument('--checkpoint', required=True, help='its weights (.pth)')
    p.add_argument('--ann-file', required=True, help='COCO file of the films to check, annotations labelled T1..L5 '
                   '(e.g. data/aasce/fold1_val.json)')
    p.add_argument('--images-dir', required=True, help='folder the file names are relative to (data/aasce/images)')
    p.add_argument('--out', required=True, help='JSON to write (atomically)')
    p.add_argument('--seed', type=int, default=0, help='the simulated corner errors\' draws (default 0)')
    p.add_argument('--end-prior', type=float, nargs='+', default=[], metavar='NATS',
                   help='also read the ends with each of these end_prior values (the cost of an end read as other '
                   'than T1 / L5) and print how often each is right: choose it on a fold that is not the one judged')
    return p.parse_args()


@run_cli
def main() -> int:
    args = parse_args()
    protect_inputs({'--config': args.config, '--checkpoint': args.checkpoint, '--ann-file': args.ann_file})
    from spinekey.apis.end_levels import EndLevels, check_on_annotations
    from spinekey.io.atomic import atomic_write_text
    result = check_on_annotations(EndLevels(args.config, args.checkpoint), args.ann_file, args.images_dir, args.seed,
                                  end_priors=args.end_prior)
    atomic_write_text(args.out, json.dumps(result, indent=1))
    for name, s in result['scenarios'].items():
        share = '-' if s['share'] is None else f'{100 * s["share"]:.1f}%'
        print(f'{name}: ends read right on {s["right"]} of {s["films"]} films ({share})')
    for row in result['by_end_prior']:
        shares = ', '.join(f'{k} {100 * s["share"]:.1f}%' for k, s in row['scenarios'].items()
                           if s['share'] is not None)
        balanced = '-' if row['balanced'] is None else f'{100 * row["balanced"]:.1f}%'
        print(f'end_prior {row["end_prior"]:g}: {shares}; balanced (clean 1/2, the others 1/2 together) {balanced}')
    print('class accuracy: ' + ', '.join(f'{k} {v:.2f}' for k, v in result['class_accuracy'].items()) +
          f' -> {args.out}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
