"""Gross failures: the films a clinician must not be handed as ``ok`` (docs/measurements.md, "Gross failures").

A film is a gross failure when any of its angles is off by more than ``GROSS_ANGLE_DEG`` (10 deg: a
different treatment decision), or when an end vertebra of what its angles were measured on is the wrong level:
the true top level (T1 on AASCE) missed, so the measured column starts lower, or an extra vertebra above it (a
C7 taken for T1); the same at the bottom (L5 missed, a sacrum taken for L5). The end check pairs the measured
end vertebra with the nearest true vertebra by centre and, when that is the true end, asks whether the
measured one lies beyond it by more than half the true spacing there.

``gross_failure_check`` then says how many gross failures QC's ``review`` holds, how many films it sends to
review for that, and how well the film's uncertainty ranks them (AUROC).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from spinekey.evaluation.uncertainty_validation import auroc
from spinekey.structures.levels import level_sort_key
from spinekey.structures.vertebra import ImageInput

GROSS_ANGLE_DEG = 10.0


@dataclass
class FilmOutcome:
    """One measured film against its truth. ``end_errors``: the phrases of :func:`end_level_errors`."""
    file_name: str
    angle_error_deg: float                 # the largest |predicted - true| of its angles
    end_errors: List[str] = field(default_factory=list)
    qc_status: Optional[str] = None
    qc_reasons: str = ''
    uncertainty: Optional[float] = None    # the film's largest angle uncertainty (1 sd), None without one


def end_level_errors(measured_ends: Sequence[Sequence[float]], true_centres: Sequence[Sequence[float]],
                     true_levels: Sequence[str]) -> List[str]:
    """Phrases naming what is wrong with the measured column's ends (empty when both are the true end levels).

    ``measured_ends``: the centres (x, y) of the top and bottom vertebrae the angles were measured on;
    ``true_centres`` / ``true_levels``: the true vertebrae top to bottom (two or more)."""
    true = np.asarray(true_centres, float)
    if len(true) < 2 or len(measured_ends) != 2:
        raise ValueError('end_level_errors needs two measured ends and two or more true vertebrae')
    out = []
    for end, centre in zip(('top', 'bottom'), measured_ends):
        c = np.asarray(centre, float)
        nearest = int(np.argmin(np.linalg.norm(true - c, axis=1)))
        last = 0 if end == 'top' else len(true) - 1
        inner = 1 if end == 'top' else len(true) - 2
        if nearest != last:
            out.append(f'{true_levels[last]} missed ({end} vertebra at {true_levels[nearest]})')
            continue
        outward = true[last] - true[inner]  # from the next-inner true vertebra towards the end and beyond
        spacing = float(np.linalg.norm(outward))
        beyond = float(np.dot(c - true[last], outward / max(spacing, 1e-9)))
        if beyond > 0.5 * spacing:
            out.append(f'extra vertebra {"above" if end == "top" else "below"} {true_levels[last]}')
    return out


def gross_failure_check(films: Sequence[FilmOutcome], gross_deg: float = GROSS_ANGLE_DEG) -> dict:
    """How QC's review and the uncertainty do on the gross failures of ``films``."""
    if not films:
        raise ValueError('gross_failure_check needs at least one film')
    by_angle = np.array([f.angle_error_deg > gross_deg for f in films])
    by_end = np.array([bool(f.end_errors) for f in films])
    gross = by_angle | by_end
    review = np.array([f.qc_status == 'review' for f in films])
    uncs = [f.uncertainty for f in films]
    has_unc = all(u is not None and np.isfinite(u) for u in uncs)
    n_gross = int(gross.sum())
    return {
        'gross_deg': gross_deg, 'n_films': len(films), 'n_gross': n_gross,
        'n_gross_angle': int(by_angle.sum()), 'n_gross_end_level': int(by_end.sum()),
        'n_review': int(review.sum()), 'review_fraction': float(review.mean()),
        'n_gross_held': int((gross & review).sum()),
        'held_fraction': float((gross & review).sum() / n_gross) if n_gross else None,
        'auroc_uncertainty': auroc(uncs, gross) if has_unc else None,
        'films': [{'file_name': f.file_name, 'angle_error_deg': round(f.angle_error_deg, 2),
                   'why': ([f'an angle off by {f.angle_error_deg:.1f} deg'] if a else []) + f.end_errors,
                   'qc_status': f.qc_status, 'qc_reasons': f.qc_reasons}
                  for f, g, a in zip(films, gross, by_angle) if g],
    }


def true_columns(images: Sequence[ImageInput]) -> Dict[str, Tuple[List[List[float]], List[str]]]:
    """File name (and its base name) -> (true vertebra centres top to bottom, their levels) of annotated films
    (spinekey.measurement.inputs.read_gt): by level when every vertebra is labelled, else by height on the film.
    Centres are VertebraInput.centre(), the same as the measured ends'."""
    out: Dict[str, Tuple[List[List[float]], List[str]]] = {}
    for im in images:
        column = [(v.label, v.centre()) for v in im.vertebrae]
        column = [(label, [float(c[0]), float(c[1])]) for label, c in column if c is not None]
        if all(label for label, _ in column):
            column.sort(key=lambda t: level_sort_key(t[0]))
        else:
            column.sort(key=lambda t: t[1][1])
            column = [(label or f'#{k + 1}', c) for k, (label, c) in enumerate(column)]
        entry = ([c for _, c in column], [label for label, _ in column])
        out[im.file_name] = entry
        out.setdefault(os.path.basename(im.file_name), entry)
    return out
