#!/usr/bin/env python
"""Fit the conformal 90% intervals of the AASCE angles on a calibration fold, and judge them on another.

Input: the smape.json that tools/measure.py --aasce-smape writes for a fold the model did not train on (the
predicted and true angles and the predicted angles' uncertainty per film). Prints the config block
``conformal = dict(...)`` to put beside ``qc = dict(...)`` in the model's config; with --judge, the coverage
and median width of those intervals on another fold (calibrate on one fold, judge on another, never the same).
"""
from __future__ import annotations

import argparse
import json

from spinekey.io.atomic import atomic_write_json, protect_inputs
from spinekey.utils.cli import run_cli
from spinekey.utils.errors import SpineKeyError


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--calibrate', required=True, nargs='+', help='smape.json of the calibration fold '
                   '(tools/measure.py --aasce-smape on a fold the model never trained on; 20 films or more), or of '
                   'several folds, each of its own model, fitted on their films together')
    p.add_argument('--judge', help='smape.json of another fold: coverage and width of the fitted intervals there')
    p.add_argument('--level', type=float, default=0.9, help='coverage the intervals promise (default 0.9)')
    p.add_argument('--mode', choices=('normalised', 'plain'), help='normalised: +- factor x uncertainty; plain: '
                   'one width; default: normalised when it is narrower on every angle, else plain')
    p.add_argument('--num-keypoints', type=int, default=4, help='K of the model (the config refuses another K)')
    p.add_argument('--out', help='also write the fit (and the judgement) as JSON')
    return p.parse_args()


@run_cli
def main() -> int:
    args = parse_args()
    protect_inputs({'--judge': args.judge})
    for path in args.calibrate:
        protect_inputs({'--calibrate': path})
    if not 0.5 <= args.level < 1:
        raise SpineKeyError(f'--level must be in [0.5, 1), got {args.level}')
    from spinekey.apis.calibration import fit_angles, judge_angles
    fitted = fit_angles(args.calibrate, args.level, args.mode, args.num_keypoints)
    for column, f in fitted['fit'].items():
        print(f'# {column}: factor {f["factor"]:.3f} x unc (median width {f["median_width_normalised"]:.1f} deg), '
              f'plain +-{f["width"]:.2f} deg (width {f["median_width_plain"]:.1f} deg), {f["n"]} films')
    print('conformal = dict(' + ', '.join(f'{k}={v!r}' for k, v in fitted['conformal'].items()) + ')')
    if args.judge:
        fitted['judged'] = judge_angles(args.judge, fitted['conformal'])
        j = fitted['judged']
        for column, modes in j['per_angle'].items():
            print(f'# judged on {args.judge}: {column} ' + ', '.join(
                f'{mode} covers {100 * m["coverage"]:.1f}% (median width {m["median_width"]:.1f} deg)'
                for mode, m in modes.items()))
        print(f'# pooled coverage: normalised {100 * j["pooled_normalised"]:.1f}%, plain '
              f'{100 * j["pooled_plain"]:.1f}% over {j["n_films"]} films (the config ships '
              f'{fitted["conformal"]["mode"]})')
    if args.out:
        atomic_write_json(args.out, json.loads(json.dumps(fitted, default=float)), indent=1)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
