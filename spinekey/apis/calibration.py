"""Fitting and judging the conformal intervals on a fold's measured films (spinekey.measurement.conformal).

The input is what ``tools/measure.py --aasce-smape`` writes for a fold the model did not train on
(``smape.json``: per film the predicted and true AASCE angles and the predicted angles' uncertainties). Fit on
one fold, judge on another: ``tools/fit_intervals.py`` does both.
"""
from __future__ import annotations

from typing import Dict, Optional

import numpy as np

from spinekey.io.coco_files import read_json
from spinekey.measurement.aasce import AASCE_ANGLES
from spinekey.measurement.conformal import Calibration, coverage, fit
from spinekey.utils.errors import SpineKeyError

ANGLE_COLUMNS = [f'cobb_{a}_deg' for a in AASCE_ANGLES]


def read_angles(smape_json: str):
    """(pred, true, unc) arrays [films, 3] of the films whose three angles all have an uncertainty."""
    data = read_json(smape_json, 'SMAPE record (tools/measure.py --aasce-smape)')
    films = [f for f in data.get('images', []) if f.get('unc') is not None and None not in f['unc']]
    if not films:
        raise SpineKeyError(f'{smape_json}: no film with angle uncertainties (results without keypoint_unc, or '
                            '--unc-samples 0)')
    unc = np.array([f['unc'] for f in films], float)
    if not np.all(np.isfinite(unc)):
        raise SpineKeyError(f'{smape_json}: NaN or infinite angle uncertainties; refusing to calibrate on them')
    return np.array([f['pred'] for f in films], float), np.array([f['true'] for f in films], float), unc


def fit_angles(smape_json: str, level: float = 0.9, mode: Optional[str] = None,
               num_keypoints: Optional[int] = None) -> Dict:
    """``{'conformal': config dict, 'fit': per-angle factors and median widths}``; ``mode`` None picks the
    normalised intervals when they are narrower in median than the plain ones on every angle, else plain."""
    pred, true, unc = read_angles(smape_json)
    try:
        per_angle = {c: fit(pred[:, k], true[:, k], unc[:, k], 1 - level) for k, c in enumerate(ANGLE_COLUMNS)}
    except ValueError as err:
        raise SpineKeyError(f'{smape_json}: {err}') from None
    if mode is None:
        narrower = all(f['median_width_normalised'] < f['median_width_plain'] for f in per_angle.values())
        mode = 'normalised' if narrower else 'plain'
    conformal = dict(level=level, mode=mode, num_keypoints=num_keypoints,
                     factors={c: round(f['factor'], 4) for c, f in per_angle.items()},
                     widths={c: round(f['width'], 3) for c, f in per_angle.items()})
    return {'conformal': conformal, 'fit': per_angle, 'n_films': len(pred), 'source': smape_json}


def judge_angles(smape_json: str, conformal: dict) -> Dict:
    """Coverage and median width of the intervals of ``conformal`` on another fold, per angle and pooled, in
    both modes (the one the config uses is what it ships)."""
    pred, true, unc = read_angles(smape_json)
    cal = Calibration.from_config(conformal)
    out = {'n_films': len(pred), 'mode': cal.mode, 'per_angle': {}}
    for mode in ('normalised', 'plain'):
        inside = []
        for k, c in enumerate(ANGLE_COLUMNS):
            kw = {'factor': cal.factors[c]} if mode == 'normalised' else {'width': cal.widths[c]}
            cov = coverage(pred[:, k], true[:, k], unc[:, k], **kw)
            out['per_angle'].setdefault(c, {})[mode] = cov
            inside.append(cov['coverage'])
        out[f'pooled_{mode}'] = float(np.mean(inside))
    return out
