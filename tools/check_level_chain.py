#!/usr/bin/env python
"""Check a trained level-chain model on annotated films it did not train on (annotations labelled with their
levels): how often it names each detection's level right, first on the films' true columns with the detector
errors it was trained on simulated afresh, then, given a detector's results.json on the same films, on what the
detector really found (every detection the chain keeps, paired with a true vertebra by box IoU). Writes the
numbers and each film's as JSON (docs/aasce.md, "The learned level chain on the synthetic split").
"""
from __future__ import annotations

import argparse
import json

from spinekey.io.atomic import protect_inputs
from spinekey.structures.results import DEFAULT_SCORE_THR
from spinekey.utils.cli import run_cli


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--config', required=True, help='level-chain config, e.g. '
                   'configs/level_chain/level-chain_bigru_30e_synthetic.py')
    p.add_argument('--checkpoint', required=True, help='its weights (.pth)')
    p.add_argument('--ann-file', required=True, help='COCO file of the films to check, annotations labelled with '
                   'their levels (e.g. data/synthetic_ends/det_test.json)')
    p.add_argument('--results', help="a detector's results.json on the same films (tools/infer.py)")
    p.add_argument('--score-thr', type=float, default=DEFAULT_SCORE_THR,
                   help=f'detections of --results the chain sees (default {DEFAULT_SCORE_THR})')
    p.add_argument('--draws', type=int, default=3, help='simulated detector runs per film (default 3)')
    p.add_argument('--out', required=True, help='JSON to write (atomically)')
    return p.parse_args()


@run_cli
def main() -> int:
    args = parse_args()
    protect_inputs({'--config': args.config, '--checkpoint': args.checkpoint, '--ann-file': args.ann_file,
                    '--results': args.results})
    if args.draws < 1:
        from spinekey.utils.errors import SpineKeyError
        raise SpineKeyError(f'--draws must be 1 or more, got {args.draws}')
    from spinekey.apis.level_chain import LevelChain, accuracy_on_simulated, check_on_detections
    from spinekey.io.atomic import atomic_write_text
    from spinekey.measurement.inputs import read_gt, read_predictions
    chain = LevelChain(args.config, args.checkpoint)
    out = {'simulated': accuracy_on_simulated(chain, args.ann_file, draws=args.draws)}
    s = out['simulated']
    print(f'simulated detector errors ({s["films"]} draws of the true columns): levels named right on '
          f'{100 * s["level_accuracy"]:.1f}% of {s["detections"]} detections')
    if args.results:
        out['detections'] = check_on_detections(chain, read_gt(args.ann_file),
                                                read_predictions(args.results, args.score_thr, gt_path=args.ann_file))
        d = out['detections']['summary']
        print(f'{args.results} (score >= {args.score_thr:g}): levels named right on {100 * d["level_accuracy"]:.1f}% '
              f'of {d["kept"]} kept detections; every kept level right on {100 * d["films_all_right"]:.1f}% of '
              f'{d["films"]} films; {d["true_dropped"]} true vertebrae dropped; {d["filled_right"]} of '
              f'{d["filled"]} filled levels right')
    atomic_write_text(args.out, json.dumps(out, indent=1))
    print(f'-> {args.out}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
