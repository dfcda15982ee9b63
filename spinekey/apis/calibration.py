"""Fitting and judging the conformal intervals on a fold's measured films (spinekey.measurement.conformal).

The input is what ``tools/measure.py --aasce-smape`` writes for a fold the model did not train on
(``smape.json``: per film the predicted and true AASCE angles and the predicted angles' uncertainties). Fit on
one fold, judge on another: ``tools/fit_intervals.py`` does both.
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence, Union

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


def angle_columns(smape_json: Union[str, Sequence[str]]) -> Dict[str, tuple]:
    """``{column: (pred, true, unc)}`` of the three AASCE angles of a fold (read_angles), or of several folds'
    films together (a list of smape.json: each fold's held-out films, of its own model)."""
    parts = [read_angles(p) for p in ([smape_json] if isinstance(smape_json, str) else smape_json)]
    pred, true, unc = (np.concatenate([part[i] for part in parts]) for i in range(3))
    return {c: (pred[:, k], true[:, k], unc[:, k]) for k, c in enumerate(ANGLE_COLUMNS)}


def fit_columns(values: Dict[str, tuple], level: float = 0.9, mode: Optional[str] = None,
                num_keypoints: Optional[int] = None, source: str = 'calibration values') -> Dict:
    """``{'conformal': config dict, 'fit': per-column factors and median widths}`` from ``{column: (pred, true,
    unc)}`` of a calibration set; ``mode`` None picks the normalised intervals when they are narrower in median
    than the plain ones on every column, else plain."""
    try:
        per_column = {c: fit(p, t, u, 1 - level) for c, (p, t, u) in values.items()}
    except ValueError as err:
        raise SpineKeyError(f'{source}: {err}') from None
    if mode is None:
        narrower = all(f['median_width_normalised'] < f['median_width_plain'] for f in per_column.values())
        mode = 'normalised' if narrower else 'plain'
    conformal = dict(level=level, mode=mode, num_keypoints=num_keypoints,
                     factors={c: round(f['factor'], 4) for c, f in per_column.items()},
                     widths={c: round(f['width'], 3) for c, f in per_column.items()})
    return {'conformal': conformal, 'fit': per_column, 'source': source}


def judge_columns(values: Dict[str, tuple], conformal: dict) -> Dict:
    """Coverage and median width of the intervals of ``conformal`` on another set's ``{column: (pred, true,
    unc)}``, per column and pooled (the mean over columns), in both modes (the config ships its ``mode``)."""
    cal = Calibration.from_config(conformal)
    out = {'mode': cal.mode, 'per_column': {}}
    for mode in ('normalised', 'plain'):
        inside = []
        for c, (p, t, u) in values.items():
            kw = {'factor': cal.factors[c]} if mode == 'normalised' else {'width': cal.widths[c]}
            cov = coverage(p, t, u, **kw)
            out['per_column'].setdefault(c, {})[mode] = cov
            inside.append(cov['coverage'])
        out[f'pooled_{mode}'] = float(np.mean(inside))
    return out


def fit_angles(smape_jsons: Sequence[str], level: float = 0.9, mode: Optional[str] = None,
               num_keypoints: Optional[int] = None) -> Dict:
    """fit_columns on the AASCE angles of one fold's smape.json (or several folds' together), with the number of
    films."""
    values = angle_columns(smape_jsons)
    fitted = fit_columns(values, level, mode, num_keypoints, ' + '.join(smape_jsons))
    return dict(fitted, n_films=len(values[ANGLE_COLUMNS[0]][0]))


def judge_angles(smape_json: str, conformal: dict) -> Dict:
    """judge_columns on the AASCE angles of another fold's smape.json (``per_angle``: per_column's name here)."""
    values = angle_columns(smape_json)
    judged = judge_columns(values, conformal)
    judged['per_angle'] = judged.pop('per_column')
    return dict(judged, n_films=len(values[ANGLE_COLUMNS[0]][0]))
