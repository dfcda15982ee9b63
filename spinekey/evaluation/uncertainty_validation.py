"""Does the uncertainty predict the error? Film-level checks of measured angles against true ones.

For films with predicted angles, their ``*_unc`` and true angles (AASCE's three, or any set):
- **AUROC**: how well the film's uncertainty (the largest of its angles' uncertainties) ranks the films with
  any angle off by more than ``bad_deg`` above the others (0.5 is chance, 1 a perfect ranking); and per angle
  (``auroc_by_angle``): how well each angle's own uncertainty ranks that angle's errors above ``bad_deg`` (a
  clinician reading the main curve asks about that angle, not about the film's worst one);
- **retention**: SMAPE of the films kept when the most uncertain fraction is sent to review (the curve a
  study reads to decide how many films a person checks), next to the oracle that drops the worst films.
  SMAPE is relative (a film's error over its angles' sum), so films are ranked here by the same ratio of
  their uncertainty, sum(unc) / sum(pred): 3 deg on a 60 deg curve matters less than on a 10 deg one;
- **calibration**: the fraction of true angles inside predicted +- uncertainty (a Gaussian 1 sd covers 68%);
- **QC**: SMAPE of the films QC calls ``ok`` against those it sends to ``review``.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import numpy as np

from spinekey.measurement.aasce import smape

BAD_ANGLE_DEG = 5.0  # a film with any angle off by more than this counts as a large error
KEEP_FRACTIONS = (1.0, 0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5)


def auroc(scores: Sequence[float], positive: Sequence[bool]) -> Optional[float]:
    """Area under the ROC curve of ``scores`` for ``positive`` (Mann-Whitney; ties count half); None without
    both classes."""
    s, y = np.asarray(scores, float), np.asarray(positive, bool)
    pos, neg = s[y], s[~y]
    if not len(pos) or not len(neg):
        return None
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (len(pos) * len(neg)))


def retention(pred: np.ndarray, true: np.ndarray, order: np.ndarray,
              fractions: Sequence[float] = KEEP_FRACTIONS) -> List[Dict]:
    """SMAPE of the films kept, first ones of ``order`` (most trusted first), for each kept fraction."""
    out = []
    for f in fractions:
        n = max(1, int(round(f * len(order))))
        keep = order[:n]
        out.append({'kept': f, 'n_films': n, 'smape': smape(pred[keep], true[keep])})
    return out


def validate(pred: Sequence[Sequence[float]], true: Sequence[Sequence[float]], unc: Sequence[Sequence[float]],
             qc_status: Optional[Sequence[str]] = None, bad_deg: float = BAD_ANGLE_DEG) -> Dict:
    """Every number of the module docstring, for films with predicted, true and uncertain angles alike."""
    p, t, u = (np.asarray(a, float) for a in (pred, true, unc))
    if not (p.shape == t.shape == u.shape) or p.ndim != 2 or not len(p):
        raise ValueError(f'pred {p.shape}, true {t.shape} and unc {u.shape} must be the same [films, angles]')
    err = np.abs(p - t)
    film_unc, film_err = u.max(1), err.max(1)
    relative_unc = u.sum(1) / np.maximum(p.sum(1), 1e-12)
    bad = film_err > bad_deg
    per_film = err.sum(1) / np.maximum((p + t).sum(1), 1e-12)
    result = {
        'n_films': len(p), 'bad_deg': bad_deg, 'n_bad': int(bad.sum()), 'smape': smape(p, t),
        'auroc': auroc(film_unc, bad),
        'auroc_by_angle': [auroc(u[:, k], err[:, k] > bad_deg) for k in range(p.shape[1])],
        'n_bad_by_angle': [int((err[:, k] > bad_deg).sum()) for k in range(p.shape[1])],
        'retention': retention(p, t, np.argsort(relative_unc, kind='stable')),
        'oracle_retention': retention(p, t, np.argsort(per_film, kind='stable')),
        'coverage_1sd': float((err <= u).mean()), 'coverage_2sd': float((err <= 2 * u).mean()),
        'median_unc_deg': float(np.median(u)), 'median_error_deg': float(np.median(err)),
        'films': [{'film_unc': float(a), 'film_error': float(b)} for a, b in zip(film_unc, film_err)],
    }
    if qc_status is not None:
        review = np.asarray([s == 'review' for s in qc_status])
        result['qc'] = {'n_review': int(review.sum()), 'auroc': auroc(review.astype(float), bad),
                        'smape_ok': smape(p[~review], t[~review]) if (~review).any() else None,
                        'smape_review': smape(p[review], t[review]) if review.any() else None}
    return result
