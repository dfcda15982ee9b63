#!/usr/bin/env python
"""Choose QC thresholds: the shape rules (size_jump, slope_outlier, gap) from annotated films (the high
quantile of what real spines in a training fold show, times a margin); with a model's predictions on a tuning
fold (results.json and the images.csv tools/measure.py wrote for it), the score rules (the lowest 5% of
detections) and uncertain_angle (the most uncertain 20% of films) too; with the measure folder of an
``--aasce-smape`` run (its measurements.csv and smape.json), how many flagged vertebrae send a film to review
(the count that best separates the films with an angle off by more than 5 deg); with --end-share, end_width
(a bottom vertebra narrower than true L5s ever are but that share). Prints a ``qc = dict(...)``
line for a config; thresholds it has no data for keep the defaults.

    python tools/fit_qc.py --gt data/aasce/fold0_train.json
    python tools/fit_qc.py --gt data/aasce/fold1_train.json --results fold0/results.json \
        --images-csv fold0/measure/images.csv
    python tools/fit_qc.py --gt data/aasce/fold1_train.json --results fold0/results.json \
        --measure-dir fold0/measure      # images.csv, measurements.csv, smape.json of measure.py --aasce-smape
"""
from __future__ import annotations

import argparse
import sys

from spinekey.utils.cli import run_cli
from spinekey.structures.results import DEFAULT_SCORE_THR


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--gt', required=True, help='COCO file of annotated films (a training fold, never the fold '
                   'you report numbers on)')
    p.add_argument('--quantile', type=float, default=0.995, help='quantile of real anatomy (default 0.995)')
    p.add_argument('--margin', type=float, default=1.1, help='factor on top, for the model\'s noise (default 1.1)')
    p.add_argument('--end-share', type=float, default=0.0,
                   help='turn on end_width (a bottom vertebra narrower than the three above it: the bottom may '
                   'not be L5) at the width ratio that flags this share of the annotated true bottoms, e.g. 0.05 '
                   '(default 0: off)')
    p.add_argument('--results', help='a model\'s results.json on a tuning fold (never the fold you report)')
    p.add_argument('--images-csv', help='images.csv of tools/measure.py on those results (angle uncertainties)')
    p.add_argument('--measure-dir', help='output folder of tools/measure.py --aasce-smape on those results: '
                   'its images.csv (unless --images-csv), and with measurements.csv + smape.json film_flagged_min')
    p.add_argument('--score-thr', type=float, default=DEFAULT_SCORE_THR,
                   help=f'detections kept by the run (default {DEFAULT_SCORE_THR})')
    p.add_argument('--vertebra-share', type=float, default=0.05,
                   help='share of detections each score rule flags (default 0.05)')
    p.add_argument('--film-share', type=float, default=0.2,
                   help='share of films uncertain_angle sends to review (default 0.2)')
    p.add_argument('--out', help='also write the thresholds and counts as JSON')
    return p.parse_args()


@run_cli
def main() -> int:
    args = parse_args()
    from spinekey.io.atomic import protect_inputs
    protect_inputs({'--gt': args.gt, '--results': args.results, '--images-csv': args.images_csv})
    from spinekey.apis.qc_fitting import fit_qc
    from spinekey.io.atomic import atomic_write_json
    qc, counts = fit_qc(args.gt, args.quantile, args.margin, args.end_share, results=args.results,
                        images_csv=args.images_csv, measure_dir=args.measure_dir, score_thr=args.score_thr,
                        vertebra_share=args.vertebra_share, film_share=args.film_share)
    print(f'# from {counts["n_films"]} films ({counts["n_vertebrae"]} vertebrae) of {args.gt}, quantile '
          f'{args.quantile}, margin {args.margin}', file=sys.stderr)
    print('qc = dict(' + ', '.join(f'{k}={v!r}' for k, v in qc.items()) + ')')
    if args.out:
        atomic_write_json(args.out, dict(qc=qc, source=args.gt, quantile=args.quantile, margin=args.margin, **counts),
                          indent=1)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
