"""QC thresholds from annotated anatomy: how far real spines go, so the geometric rules fire on defects only.

For each annotated film (ground truth of a training fold, never the fold a number is reported on) the
quantities the rules of spinekey.measurement.qc test are collected: a vertebra's height against its
neighbours' mean, its superior endplate's smallest slope difference to its two neighbours, the centre
spacing against the film's median, and the bottom vertebra's width against the three above it. A threshold is
a high quantile of what real anatomy shows, times a margin for the model's own noise, so a healthy spine is
almost never sent to review for its shape (end_width: a low quantile, when asked for).
The film rules are chosen from a model's predictions on a tuning fold: the scores' low tail, the most
uncertain films, and how many flagged vertebrae make a film likely to carry a large angle error.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import numpy as np

from spinekey.measurement.qc import (bottom_width_ratio, height_ratio, neighbour_quads, slope_offset,
                                     spacing_ratios)
from spinekey.structures.vertebra import order_vertebrae, vertebra_quad


def anatomy_stats(films: Sequence[Sequence]) -> Dict[str, np.ndarray]:
    """Per-vertebra size ratios, slope offsets (deg) and spacing ratios, and per film the bottom vertebra's width
    ratio, over ``films`` (lists of VertebraInput with four corners)."""
    sizes: List[float] = []
    slopes: List[float] = []
    gaps: List[float] = []
    bottoms: List[float] = []
    for vertebrae in films:
        ordered = [vertebrae[i] for i in order_vertebrae(vertebrae)]
        quads = [vertebra_quad(v) for v in ordered]
        for i, q in enumerate(quads):
            if q is None:
                continue
            ratio = height_ratio(q, neighbour_quads(quads, i))
            if ratio is not None:
                sizes.append(max(ratio, 1 / ratio))
            off = slope_offset(q, neighbour_quads(quads, i))
            if off is not None:
                slopes.append(off)
        ratios = spacing_ratios(ordered)
        if ratios is not None:
            gaps.extend(ratios)
        bottom = bottom_width_ratio(ordered)
        if bottom is not None:
            bottoms.append(bottom)
    return {'size_ratio': np.asarray(sizes), 'slope_deg': np.asarray(slopes), 'gap_factor': np.asarray(gaps),
            'bottom_width_ratio': np.asarray(bottoms)}


def suggest_thresholds(stats: Dict[str, np.ndarray], quantile: float = 0.995, margin: float = 1.1,
                       end_share: float = 0.0) -> Dict:
    """``{rule: threshold}``: the ``quantile`` of each statistic times ``margin`` (ratios: their excess over 1),
    with the counts it was taken from. ``end_share`` > 0 also turns on ``end_width`` at the ratio that flags
    that share of the annotated films' true bottom vertebrae (no margin: it is a low tail, and the rule's price
    is the share of correct films it sends to review)."""
    out = {}
    bottoms = stats.get('bottom_width_ratio', np.zeros(0))
    if end_share and len(bottoms):
        out['min_bottom_width_ratio'] = round(float(np.quantile(bottoms, end_share)), 3)
    for key, values in stats.items():
        if not len(values) or key == 'bottom_width_ratio':
            continue
        q = float(np.quantile(values, quantile))
        out[key] = round(1 + (q - 1) * margin, 3) if key in ('size_ratio', 'gap_factor') else round(q * margin, 2)
    out['n_vertebrae'] = int(len(stats['size_ratio']))
    return out


def prediction_thresholds(detection_scores: Sequence[float], min_keypoint_scores: Sequence[float],
                          film_angle_unc: Sequence[float], vertebra_share: float = 0.05,
                          film_share: float = 0.2) -> Dict:
    """Score and uncertainty thresholds from a model's predictions on a tuning fold (held out from its training,
    never the fold a number is reported on): each score rule flags the lowest ``vertebra_share`` of the
    detections, and ``uncertain_angle`` the most uncertain ``film_share`` of the films (their largest angle
    uncertainty). Empty inputs leave their threshold out."""
    out = {}
    if len(detection_scores):
        out['min_score'] = round(float(np.quantile(detection_scores, vertebra_share)), 3)
    if len(min_keypoint_scores):
        out['min_keypoint_score'] = round(float(np.quantile(min_keypoint_scores, vertebra_share)), 3)
    if len(film_angle_unc):
        out['max_angle_unc_deg'] = round(float(np.quantile(film_angle_unc, 1 - film_share)), 2)
    return out


def fit_film_flagged_min(flagged_per_film: Sequence[int], bad: Sequence[bool], max_count: int = 6) -> Optional[int]:
    """The number of flagged vertebrae from which a film goes to review: the k in 1..``max_count`` that best
    separates the films with a large angle error (``bad``) from the others, i.e. the largest difference between
    the bad rate of films with >= k flagged vertebrae and of the rest. None when no k leaves both groups
    non-empty. One or two flagged vertebrae out of 17 are often harmless (a faint L5 that the angles do not use);
    how many it takes is a property of the model, hence fitted on its predictions."""
    flagged, bad = np.asarray(flagged_per_film, int), np.asarray(bad, bool)
    best, best_gap = None, -np.inf
    for k in range(1, max_count + 1):
        review = flagged >= k
        if review.all() or not review.any():
            continue
        gap = bad[review].mean() - bad[~review].mean()
        if gap > best_gap + 1e-12:
            best, best_gap = k, gap
    return best
