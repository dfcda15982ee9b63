"""Cohort statistics over many films: per-level vertebral heights normalised by a reference level (e.g. C7)
and by the level directly above, with mean, variance, 95% confidence interval and count.

Normalising within each film cancels magnification and patient size, which is how height-loss studies
compare levels across a cohort (users of the original SpineKey did this by hand in R).
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Dict, Iterable, List, Optional

import numpy as np

from spinekey.structures.levels import LEVELS, level_sort_key

MEASURES = ('height_anterior', 'height_middle', 'height_posterior')
COHORT_COLUMNS = ['level', 'measure', 'normalised_by', 'n', 'mean', 'variance', 'sd', 'ci95_low', 'ci95_high']


def level_heights(rows: Iterable[dict]) -> Dict[object, Dict[str, Dict[str, float]]]:
    """{image_id: {level: {measure: px}}} from measurements rows that have a level and heights."""
    out: Dict[object, Dict[str, Dict[str, float]]] = defaultdict(dict)
    for row in rows:
        level = row.get('level')
        values = {m: row.get(f'{m}_px') for m in MEASURES}
        if level and all(isinstance(v, (int, float)) and v > 0 for v in values.values()):
            out[row['image_id']][level] = values
    return out


def pick_reference_level(per_image: Dict[object, Dict[str, dict]]) -> Optional[str]:
    """The level present in most films (ties: the most cranial), for when the user names none."""
    counts = Counter(level for levels in per_image.values() for level in levels)
    if not counts:
        return None
    return min(counts, key=lambda lv: (-counts[lv], level_sort_key(lv)))


def mean_ci(values: List[float], confidence: float = 0.95) -> dict:
    """n, mean, sample variance and SD, and the t-based confidence interval of the mean."""
    x = np.asarray(values, float)
    n = len(x)
    if n == 0:
        return {'n': 0, 'mean': None, 'variance': None, 'sd': None, 'ci95_low': None, 'ci95_high': None}
    mean = float(x.mean())
    if n == 1:
        return {'n': 1, 'mean': mean, 'variance': None, 'sd': None, 'ci95_low': None, 'ci95_high': None}
    from scipy import stats
    var = float(x.var(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * math.sqrt(var / n)
    return {'n': n, 'mean': mean, 'variance': var, 'sd': math.sqrt(var), 'ci95_low': mean - half,
            'ci95_high': mean + half}


def _level_above(level: str) -> Optional[str]:
    if level in LEVELS and LEVELS.index(level) > 0:
        return LEVELS[LEVELS.index(level) - 1]
    return None


def cohort_table(rows: Iterable[dict], reference_level: Optional[str] = None) -> List[dict]:
    """Rows in COHORT_COLUMNS, levels cranial to caudal; ``reference_level`` None picks one automatically."""
    per_image = level_heights(rows)
    reference_level = reference_level or pick_reference_level(per_image)
    samples: Dict[tuple, List[float]] = defaultdict(list)
    for levels in per_image.values():
        ref = levels.get(reference_level)
        for level, values in levels.items():
            above = levels.get(_level_above(level))
            for m in MEASURES:
                if ref is not None:
                    samples[(level, m, reference_level)].append(values[m] / ref[m])
                if above is not None:
                    samples[(level, m, 'level above')].append(values[m] / above[m])
    out = []
    for level, measure, norm in sorted(samples, key=lambda k: (level_sort_key(k[0]), k[2] == 'level above',
                                                              MEASURES.index(k[1]))):
        stats = mean_ci(samples[(level, measure, norm)])
        out.append({'level': level, 'measure': measure, 'normalised_by': norm,
                    **{k: (round(v, 5) if isinstance(v, float) else v) for k, v in stats.items()}})
    return out
