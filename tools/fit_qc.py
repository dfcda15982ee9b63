#!/usr/bin/env python
"""Choose the geometric QC thresholds from annotated films: the shape rules (size_jump, slope_outlier, gap)
get the high quantile of what real spines in a training fold show, times a margin. Prints a
``qc = dict(...)`` line for a config (the score and uncertainty thresholds are kept from the defaults).

    python tools/fit_qc.py --gt data/aasce/fold0_train.json
"""
from __future__ import annotations

import argparse
import sys

from spinekey.utils.cli import run_cli
from spinekey.utils.errors import SpineKeyError


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--gt', required=True, help='COCO file of annotated films (a training fold, never the fold '
                   'you report numbers on)')
    p.add_argument('--quantile', type=float, default=0.995, help='quantile of real anatomy (default 0.995)')
    p.add_argument('--margin', type=float, default=1.1, help='factor on top, for the model\'s noise (default 1.1)')
    p.add_argument('--out', help='also write the thresholds and counts as JSON')
    return p.parse_args()


@run_cli
def main() -> int:
    args = parse_args()
    if not 0.5 <= args.quantile < 1:
        raise SpineKeyError(f'--quantile must be in [0.5, 1), got {args.quantile}')
    from dataclasses import asdict

    from spinekey.io.atomic import atomic_write_json
    from spinekey.measurement.inputs import read_gt
    from spinekey.measurement.qc import QCThresholds
    from spinekey.measurement.qc_fit import anatomy_stats, suggest_thresholds
    films = [im.vertebrae for im in read_gt(args.gt) if len(im.vertebrae) >= 3]
    if not films:
        raise SpineKeyError(f'{args.gt}: no film with three or more annotated vertebrae to learn from')
    fitted = suggest_thresholds(anatomy_stats(films), args.quantile, args.margin)
    counts = {'n_films': len(films), 'n_vertebrae': fitted.pop('n_vertebrae')}
    qc = dict(asdict(QCThresholds()), **fitted)
    print(f'# from {counts["n_films"]} films ({counts["n_vertebrae"]} vertebrae) of {args.gt}, quantile '
          f'{args.quantile}, margin {args.margin}', file=sys.stderr)
    print('qc = dict(' + ', '.join(f'{k}={v!r}' for k, v in qc.items()) + ')')
    if args.out:
        atomic_write_json(args.out, dict(qc=qc, source=args.gt, quantile=args.quantile, margin=args.margin, **counts),
                          indent=1)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
