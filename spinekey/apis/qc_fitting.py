"""Fit QC thresholds (what ``tools/fit_qc.py`` does, callable from Python): anatomy thresholds from annotated
films (spinekey.measurement.qc_fit), and score, uncertainty and film-rule thresholds from a tuning fold's
predictions. Fit on one fold, judge on another: never on the films you report."""
from __future__ import annotations

import csv
import json
import os
from dataclasses import asdict
from typing import Optional, Tuple

from spinekey.structures.results import DEFAULT_SCORE_THR
from spinekey.utils.errors import SpineKeyError


def fit_qc(gt: str, quantile: float = 0.995, margin: float = 1.1, end_share: float = 0.0,
           **predictions) -> Tuple[dict, dict]:
    """(every QC threshold as ``qc = dict(...)`` holds it, counts of what it was fitted on). Anatomy from the
    films of ``gt`` with three or more vertebrae, at ``quantile`` of real anatomy times ``margin``
    (``end_share`` > 0: end_width too, flagging that share of the true bottom vertebrae);
    ``predictions``: fit_from_predictions's arguments (none: the score and uncertainty rules keep defaults)."""
    from spinekey.measurement.inputs import read_gt
    from spinekey.measurement.qc import QCThresholds
    from spinekey.measurement.qc_fit import anatomy_stats, suggest_thresholds
    if not 0.5 <= quantile < 1:
        raise SpineKeyError(f'--quantile must be in [0.5, 1), got {quantile}')
    if not 0 <= end_share < 0.5:
        raise SpineKeyError(f'--end-share must be in [0, 0.5), got {end_share}')
    films = [im.vertebrae for im in read_gt(gt) if len(im.vertebrae) >= 3]
    if not films:
        raise SpineKeyError(f'{gt}: no film with three or more annotated vertebrae to learn from')
    fitted = suggest_thresholds(anatomy_stats(films), quantile, margin, end_share)
    counts = {'n_films': len(films), 'n_vertebrae': fitted.pop('n_vertebrae')}
    if any(predictions.get(k) for k in ('results', 'images_csv', 'measure_dir')):
        fitted.update(fit_from_predictions(**predictions))
    return dict(asdict(QCThresholds()), **fitted), counts


def fit_from_predictions(results: Optional[str] = None, images_csv: Optional[str] = None,
                         measure_dir: Optional[str] = None, score_thr: float = DEFAULT_SCORE_THR,
                         vertebra_share: float = 0.05, film_share: float = 0.2) -> dict:
    """Score and uncertainty thresholds from a tuning fold's results.json and tools/measure.py's images.csv
    (or the images.csv of ``measure_dir``, which with its smape.json also gives film_flagged_min).
    ``vertebra_share``: share of detections each score rule flags; ``film_share``: share of films
    uncertain_angle sends to review."""
    from spinekey.io.coco_files import load_results
    from spinekey.measurement.qc_fit import prediction_thresholds
    scores, kp_scores, film_unc = [], [], []
    if results:
        kept = [r for r in load_results(results) if r.get('score', 0) >= score_thr]
        scores = [r['score'] for r in kept]
        kp_scores = [min(r['keypoints'][2::3]) for r in kept if r.get('keypoints')]
    images_csv = images_csv or (os.path.join(measure_dir, 'images.csv') if measure_dir else None)
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
    fitted = prediction_thresholds(scores, kp_scores, film_unc, vertebra_share, film_share)
    if measure_dir:
        fitted.update(fit_film_rule(measure_dir))
    return fitted


def fit_film_rule(measure_dir: str) -> dict:
    """film_flagged_min from a measure folder: flagged vertebrae per film (measurements.csv) against the films
    with an AASCE angle off by more than 5 deg (smape.json)."""
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
