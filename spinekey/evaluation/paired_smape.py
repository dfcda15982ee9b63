"""Is one run's AASCE SMAPE really lower than another's on the same films? A paired bootstrap.

Two runs on one held-out fold (stage 1 against stage 1 + refiner, 17 best-scored against a chain) differ by a
few tenths of a point, and 91 films hold a run-to-run spread of about half a point (docs/aasce.md). Resampling
the *films* (the same draw for both runs, so a hard film stays hard on both sides) gives an interval for the
difference B - A; a gain whose interval holds zero is not one this fold can show. Films are paired by file name.
"""
from __future__ import annotations

from typing import Dict, Sequence

import numpy as np

from spinekey.measurement.aasce import smape_per_image

BOOTSTRAP_DRAWS = 2000


def paired_smape_difference(names_a: Sequence[str], pred_a, true_a, names_b: Sequence[str], pred_b, true_b,
                            draws: int = BOOTSTRAP_DRAWS, level: float = 0.95, seed: int = 0) -> Dict:
    """SMAPE of A and of B on the films both scored, the difference B - A, its paired-bootstrap interval at
    ``level``, and how many films each run has the lower error on. Raises ValueError with no film in common or
    when the two runs' true angles of a film differ (they were not scored against the same truth)."""
    a = {n: (np.asarray(p, float), np.asarray(t, float)) for n, p, t in zip(names_a, pred_a, true_a)}
    b = {n: (np.asarray(p, float), np.asarray(t, float)) for n, p, t in zip(names_b, pred_b, true_b)}
    common = sorted(set(a) & set(b))
    if not common:
        raise ValueError('the two runs have no film in common (paired by file name)')
    for n in common:
        if not np.allclose(a[n][1], b[n][1], atol=1e-6):
            raise ValueError(f'{n}: the two runs were scored against different true angles')
    true = np.array([a[n][1] for n in common])
    film_a = smape_per_image(np.array([a[n][0] for n in common]), true)
    film_b = smape_per_image(np.array([b[n][0] for n in common]), true)
    diff = film_b - film_a
    rng = np.random.default_rng(seed)
    boot = diff[rng.integers(0, len(diff), size=(draws, len(diff)))].mean(axis=1)
    lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
    return {'n_films': len(common), 'only_in_a': len(a) - len(common), 'only_in_b': len(b) - len(common),
            'smape_a': float(film_a.mean()), 'smape_b': float(film_b.mean()),
            'difference': float(diff.mean()), 'interval': [float(lo), float(hi)], 'level': level,
            'draws': draws, 'b_better': int((diff < 0).sum()), 'a_better': int((diff > 0).sum()),
            'p_b_not_better': float((boot >= 0).mean())}

