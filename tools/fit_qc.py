#!/usr/bin/env python
"""Choose QC thresholds: the shape rules (size_jump, slope_outlier, gap) from annotated films (the high
quantile of what real spines in a training fold show, times a margin); with a model's predictions on a tuning
fold (results.json and the images.csv tools/measure.py wrote for it), the score rules (the lowest 5% of
detections) and uncertain_angle (the most uncertain 20% of films) too; with the measure folder of an
``--aasce-smape`` run (its measurements.csv and smape.json), how many flagged vertebrae send a film to review
(the count that best separates the films with an angle off by more than 5 deg). Prints a ``qc = dict(...)``
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
from spinekey.utils.errors import SpineKeyError
from spinekey.structures.results import DEFAULT_SCORE_THR


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--gt', required=True, help='COCO file of annotated films (a training fold, never the fold '
                   'you report numbers on)')
    p.add_argument('--quantile', type=float, default=0.995, help='quantile of real anatomy (default 0.995)')
    p.add_argument('--margin', type=float, default=1.1, help='factor on top, for the model\'s noise (default 1.1)')
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


def fit_from_predictions(args) -> dict:
    """Score and uncertainty thresholds from --results / --images-csv (spinekey.measurement.qc_fit)."""
    import csv
    import os

    from spinekey.io.coco_files import load_results
    from spinekey.measurement.qc_fit import prediction_thresholds
    scores, kp_scores, film_unc = [], [], []
    if args.results:
        kept = [r for r in load_results(args.results) if r.get('score', 0) >= args.score_thr]
        scores = [r['score'] for r in kept]
        kp_scores = [min(r['keypoints'][2::3]) for r in kept if r.get('keypoints')]
    images_csv = args.images_csv or (os.path.join(args.measure_dir, 'images.csv') if args.measure_dir else None)
    if images_csv:
        if not os.path.isfile(images_csv):
            raise SpineKeyError(f'{images_csv}: not found (the images.csv tools/measure.py writes)')
        with open(images_csv, newline='') as f:
            for row in csv.DictReader(f):
                values = [float(v) for k, v in row.items() if k.endswith('_deg_unc') and v not in ('', None)]
                if values:
                    film_unc.append(max(values))
        if not film_unc:
            raise SpineKeyError(f'{images_csv}: no *_deg_unc values (measure results that carry keypoint_unc)')
    fitted = prediction_thresholds(scores, kp_scores, film_unc, args.vertebra_share, args.film_share)
    if args.measure_dir:
        fitted.update(fit_film_rule(args.measure_dir))
    return fitted


def fit_film_rule(measure_dir: str) -> dict:
    """film_flagged_min from a measure folder: flagged vertebrae per film (measurements.csv) against the films
    with an AASCE angle off by more than 5 deg (smape.json)."""
    import csv
    import json
    import os

    from spinekey.evaluation.uncertainty_validation import BAD_ANGLE_DEG
    from spinekey.measurement.qc_fit import fit_film_flagged_min
    paths = [os.path.join(measure_dir, n) for n in ('measurements.csv', 'smape.json')]
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        raise SpineKeyError(f'{missing[0]}: not found (run tools/measure.py --aasce-smape --out {measure_dir})')
    flagged = {}
    with open(paths[0], newline='') as f:
        for row in csv.DictReader(f):
            flagged[row['file_name']] = flagged.get(row['file_name'], 0) + (row.get('qc_status') == 'review')
    with open(paths[1]) as f:
        films = json.load(f)['images']
    bad = [max(abs(p - t) for p, t in zip(im['pred'], im['true'])) > BAD_ANGLE_DEG for im in films]
    k = fit_film_flagged_min([flagged.get(im['file_name'], 0) for im in films], bad)
    return {} if k is None else {'film_flagged_min': k}


@run_cli
def main() -> int:
    args = parse_args()
    from spinekey.io.atomic import protect_inputs
    protect_inputs({'--gt': args.gt, '--results': args.results, '--images-csv': args.images_csv})
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
    if args.results or args.images_csv or args.measure_dir:
        fitted.update(fit_from_predictions(args))
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
