"""Angles of one film from several independently trained models: their mean, and an uncertainty that includes
how much the models disagree.

Why at the angle level and not by averaging corners: two models disagree most where the film is hard for the
whole pipeline (which vertebrae form the 17 levels, which end vertebrae bound a curve), and that shows in the
angles, not in matched corners. On AASCE (docs/aasce.md) adding the models' disagreement ranked the films
with a large angle error better than one model's heatmap spread; averaging matched corners did not.

The uncertainty is the ensemble's total variance: the members' own variance (mean of ``unc^2``) plus the
variance of their values (unbiased, ddof=1: with two or three models the plain variance would understate
how far apart independent trainings land).
"""
from __future__ import annotations

from typing import List, Optional, Sequence

import numpy as np

from spinekey.measurement.uncertainty import IMAGE_UNC, unc_column


def combine_angle(values: Sequence[Optional[float]], uncs: Sequence[Optional[float]]):
    """(mean, total uncertainty, members used) of one angle; members without a value are left out; a member
    without an uncertainty counts as 0 for the mean variance."""
    kept = [(float(v), u) for v, u in zip(values, uncs) if v is not None and np.isfinite(v)]
    if not kept:
        return None, None, 0
    vals = np.array([v for v, _ in kept])
    if len(kept) == 1 and kept[0][1] is None:
        return float(vals[0]), None, 1  # one model, no uncertainty: none to give
    spread = np.array([0.0 if u is None else float(u) for _, u in kept])
    between = float(np.var(vals, ddof=1)) if len(vals) > 1 else 0.0
    return float(vals.mean()), float(np.sqrt(np.mean(spread ** 2) + between)), len(vals)


def combine_image_rows(rows: Sequence[dict], angles: Sequence[str] = IMAGE_UNC) -> dict:
    """The first row with each of ``angles`` (and its ``*_unc``) replaced by the members' combination, and a
    note saying how many models gave the angles. The rows are one film's images.csv rows, one per model."""
    out = dict(rows[0])
    used: List[int] = []
    for name in angles:
        value, unc, n = combine_angle([r.get(name) for r in rows], [r.get(unc_column(name)) for r in rows])
        if value is None:
            continue
        out[name] = round(value, 3)
        out[unc_column(name)] = None if unc is None else round(unc, 3)
        used.append(n)
    if used:
        note = f'angles: mean of {max(used)} of {len(rows)} models'
        out['note'] = '; '.join(n for n in (out.get('note'), note) if n)
    return out
