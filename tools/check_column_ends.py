#!/usr/bin/env python
"""Check a trained column-ends locator on annotated films it did not train on (a held-out fold): how far from
each end vertebra (T1, L5) it points, in film pixels and in levels, how often it is within half a level, and,
given stage 1's results.json on the same films, how often the detection nearest each located end is the true end
vertebra. Writes the numbers and each film's as JSON (docs/aasce.md, "The column's ends from the whole film").
"""
from __future__ import annotations

import argparse
import json
import sys

from tqdm import tqdm

from spinekey.io.atomic import protect_inputs
from spinekey.utils.cli import run_cli


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--config', required=True,
                   help='locator config, e.g. configs/column_ends/column-ends_lite0_s384_20e_aasce_cpu.py')
    p.add_argument('--checkpoint', required=True, help='its weights (.pth)')
    p.add_argument('--ann-file', required=True, help='COCO file of the films to check, annotations labelled with '
                   'their levels (e.g. data/aasce/fold0_val.json)')
    p.add_argument('--images-dir', required=True, help='folder the file names are relative to (data/aasce/images)')
    p.add_argument('--results', help="stage 1's results.json on the same films (tools/infer.py)")
    p.add_argument('--score-thr', type=float, default=0.05, help='detections of --results considered (default 0.05)')
    p.add_argument('--out', required=True, help='JSON to write (atomically)')
    return p.parse_args()


@run_cli
def main() -> int:
    args = parse_args()
    protect_inputs({'--config': args.config, '--checkpoint': args.checkpoint, '--ann-file': args.ann_file,
                    '--results': args.results})
    from spinekey.apis.column_ends import ColumnEndsLocator, check_column_ends
    from spinekey.io.atomic import atomic_write_text
    from spinekey.io.coco_files import load_results
    results = load_results(args.results) if args.results else None
    result = check_column_ends(ColumnEndsLocator(args.config, args.checkpoint), args.ann_file, args.images_dir,
                               results, args.score_thr,
                               progress=lambda films: tqdm(films, desc='locate', unit='film', file=sys.stderr))
    atomic_write_text(args.out, json.dumps(result, indent=1))
    s = result['summary']
    for level in (k for k in s if isinstance(s[k], dict)):
        line = (f'{level}: median error {s[level]["median_error_px"]:.1f} px, within half a level on '
                f'{100 * s[level]["within_half_a_level"]:.1f}% of {s["films"]} films')
        if 'nearest_detection_is_true' in s[level]:
            line += f'; the nearest detection is the true {level} on {100 * s[level]["nearest_detection_is_true"]:.1f}%'
        print(line)
    if 'both_nearest_detections_true' in s:
        print(f'both ends: the nearest detections are the true end vertebrae on '
              f'{100 * s["both_nearest_detections_true"]:.1f}% of films -> {args.out}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
