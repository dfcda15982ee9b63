"""Uncertainty of every measurement, in its own unit, from the uncertainty of the keypoints it is made of.

Each keypoint carries a standard deviation in pixels (``VertebraInput.keypoint_unc``: the heatmap's spread,
with flip test the disagreement of the two passes too). The measurement functions are not linear (a Cobb
angle is a maximum over pairs of endplates), so the uncertainty is propagated by Monte Carlo: the film is
measured again on copies whose corners are moved by Gaussian noise of that size, and a column's ``*_unc``
is the standard deviation of its value over the copies. Deterministic: the noise is seeded per film.
"""
from __future__ import annotations

from typing import Callable, Dict, List, Sequence

import numpy as np

VERTEBRA_UNC = ['height_anterior_px', 'height_middle_px', 'height_posterior_px', 'height_anterior_mm',
                'height_middle_mm', 'height_posterior_mm', 'wedge_ratio', 'crush_ratio', 'slip_percent']
IMAGE_UNC = ['cobb_deg', 'lordosis_deg', 'cobb_pt_deg', 'cobb_mt_deg', 'cobb_tl_deg']
DEFAULT_SAMPLES = 32


def unc_column(name: str) -> str:
    return f'{name}_unc'


def jitter(vertebrae: Sequence, rng: np.random.Generator) -> List:
    """Copies of ``vertebrae`` with each keypoint moved by N(0, unc^2) in x and in y (unc in px)."""
    from dataclasses import replace
    out = []
    for v in vertebrae:
        unc = v.keypoint_unc or {}
        points = {n: (x + rng.normal(0, unc.get(n, 0.0)), y + rng.normal(0, unc.get(n, 0.0)))
                  for n, (x, y) in v.points.items()}
        out.append(replace(v, points=points))
    return out


def _spread(values: Sequence) -> float:
    kept = [float(x) for x in values if x is not None and np.isfinite(x)]
    return round(float(np.std(kept)), 3) if len(kept) >= 2 else None


def add_uncertainty(vertebra_rows: List[dict], image_row: dict, ordered: Sequence,
                    measure_again: Callable[[List], tuple], samples: int = DEFAULT_SAMPLES, seed: int = 0) -> bool:
    """Fill ``<column>_unc`` in the rows of one film; False (rows untouched) when no keypoint has an uncertainty.

    ``measure_again(vertebrae)`` measures jittered copies of ``ordered`` and returns (vertebra rows, image
    row) in the same spine order; rows whose count changes (a copy ordered differently) are skipped.
    """
    if not any(v.keypoint_unc for v in ordered) or samples < 2:
        return False
    rng = np.random.default_rng(seed)
    per_vertebra: List[Dict[str, list]] = [{c: [] for c in VERTEBRA_UNC} for _ in vertebra_rows]
    per_image: Dict[str, list] = {c: [] for c in IMAGE_UNC}
    for _ in range(samples):
        rows, image = measure_again(jitter(ordered, rng))
        for c in IMAGE_UNC:
            per_image[c].append(image.get(c))
        if len(rows) == len(vertebra_rows):
            for acc, row in zip(per_vertebra, rows):
                for c in VERTEBRA_UNC:
                    acc[c].append(row.get(c))
    for row, acc in zip(vertebra_rows, per_vertebra):
        for c in VERTEBRA_UNC:
            if row.get(c) is not None:
                row[unc_column(c)] = _spread(acc[c])
    for c in IMAGE_UNC:
        if image_row.get(c) is not None:
            image_row[unc_column(c)] = _spread(per_image[c])
    return True
