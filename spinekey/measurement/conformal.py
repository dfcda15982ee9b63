"""90% intervals with a coverage promise: split-conformal calibration of each measurement's uncertainty.

On a calibration fold (films the model never trained on, with true values), the score of each measurement is
|error| / uncertainty (normalised: a film the model is unsure of gets a wider range) or |error| (plain: one
width for all). The interval is value +- q x uncertainty (or +- q), q the ceil((n + 1)(1 - alpha))-th smallest
score: on a new film from the same population the true value falls inside with probability >= 1 - alpha
(Vovk et al.; Angelopoulos and Bates, "A Gentle Introduction to Conformal Prediction", 2021). Fitted factors
live in the config (``conformal = dict(...)``) beside the QC thresholds; ``tools/fit_intervals.py`` writes them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, Optional, Sequence

import numpy as np

MIN_CALIBRATION = 20  # below this the finite-sample quantile promises (almost) nothing
UNCALIBRATED = 'uncalibrated'
NON_NEGATIVE = ('_deg', '_px', '_mm', 'ratio', 'percent')  # angles, lengths, ratios: a range never below 0


def conformal_quantile(scores: Sequence[float], alpha: float) -> float:
    """The ceil((n + 1)(1 - alpha))-th smallest of ``scores`` (inf when that rank exceeds n).

    Raises:
        ValueError: fewer than MIN_CALIBRATION finite scores, or alpha outside (0, 1).
    """
    if not 0 < alpha < 1:
        raise ValueError(f'alpha must be in (0, 1), got {alpha}')
    s = np.sort(np.asarray([x for x in scores if x is not None and math.isfinite(x)], float))
    if len(s) < MIN_CALIBRATION:
        raise ValueError(f'{len(s)} calibration values; conformal intervals need at least {MIN_CALIBRATION} '
                         '(the quantile would promise nothing)')
    rank = math.ceil((len(s) + 1) * (1 - alpha))
    return float('inf') if rank > len(s) else float(s[rank - 1])


@dataclass
class Calibration:
    """Fitted factors of one config: ``factors[column]`` (normalised mode: multiples of ``<column>_unc``) or
    ``widths[column]`` (plain mode: half-widths in the column's unit), at ``level`` (0.9 for 90%)."""
    level: float = 0.9
    mode: str = 'normalised'
    factors: Dict[str, float] = field(default_factory=dict)
    widths: Dict[str, float] = field(default_factory=dict)
    num_keypoints: Optional[int] = None

    @classmethod
    def from_config(cls, values: Optional[dict]) -> Optional['Calibration']:
        """None for a config without ``conformal = dict(...)``; a ValueError names a bad entry."""
        if not values:
            return None
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f'unknown conformal setting(s) {", ".join(unknown)}; known: {", ".join(sorted(known))}')
        cal = cls(**values)
        if cal.mode not in ('normalised', 'plain'):
            raise ValueError(f"conformal mode must be 'normalised' or 'plain', got {cal.mode!r}")
        return cal

    def check_keypoints(self, num_keypoints: int) -> None:
        """Raise when the factors were fitted on a model with another keypoint set."""
        if self.num_keypoints is not None and num_keypoints != self.num_keypoints:
            raise ValueError(f'the conformal factors were fitted for K={self.num_keypoints} keypoints, this model '
                             f'has K={num_keypoints}: refit them (tools/fit_intervals.py)')


def interval(value: float, unc: Optional[float], column: str, cal: Calibration):
    """(lo, hi) of ``column``'s value, or None when the calibration or the uncertainty cannot give one."""
    if value is None or not math.isfinite(value):
        return None
    if cal.mode == 'plain':
        half = cal.widths.get(column)
    else:
        factor = cal.factors.get(column)
        half = None if factor is None or unc is None or not math.isfinite(unc) else factor * unc
    if half is None or not math.isfinite(half):
        return None
    lo, hi = value - half, value + half
    if column.endswith(NON_NEGATIVE):
        lo = max(lo, 0.0)
    return lo, hi


def add_intervals(row: dict, columns: Sequence[str], cal: Optional[Calibration]) -> None:
    """``<column>_lo`` / ``<column>_hi`` for each column of ``row`` that has a value and an uncertainty
    (``<column>_unc``): the calibrated range, or ``'uncalibrated'`` when the config has no calibration, or none
    for this column (the AASCE configs calibrate the three AASCE angles only: their heights and clinical Cobb
    angle say so rather than leave a blank a reader could take for a missing value; a range that promises
    nothing is not printed)."""
    for c in columns:
        if row.get(c) is None or row.get(f'{c}_unc') is None:
            continue
        if cal is None or c not in (cal.widths if cal.mode == 'plain' else cal.factors):
            row[f'{c}_lo'] = row[f'{c}_hi'] = UNCALIBRATED
            continue
        bounds = interval(row[c], row.get(f'{c}_unc'), c, cal)
        if bounds is not None:
            row[f'{c}_lo'], row[f'{c}_hi'] = round(bounds[0], 3), round(bounds[1], 3)


def fit(pred: Sequence[float], true: Sequence[float], unc: Sequence[float], alpha: float = 0.1) -> Dict:
    """Both kinds of factor for one measurement over the calibration films, and their median widths."""
    p, t, u = (np.asarray(a, float) for a in (pred, true, unc))
    ok = np.isfinite(p) & np.isfinite(t) & np.isfinite(u) & (u > 0)
    err = np.abs(p - t)[ok]
    factor = conformal_quantile(err / u[ok], alpha)
    width = conformal_quantile(err, alpha)
    return {'n': int(ok.sum()), 'factor': factor, 'width': width,
            'median_width_normalised': float(np.median(2 * factor * u[ok])), 'median_width_plain': 2 * width}


def coverage(pred: Sequence[float], true: Sequence[float], unc: Sequence[float], factor: Optional[float] = None,
             width: Optional[float] = None) -> Dict:
    """Fraction of true values inside the intervals on a judged fold, and their median width."""
    p, t, u = (np.asarray(a, float) for a in (pred, true, unc))
    half = factor * u if factor is not None else np.full_like(p, width)
    lo = np.maximum(p - half, 0.0)
    inside = (t >= lo) & (t <= p + half)
    return {'n': int(len(p)), 'coverage': float(inside.mean()) if len(p) else None,
            'median_width': float(np.median(p + half - lo)) if len(p) else None}
