"""Quality control: which vertebrae and films a person should look at before trusting the numbers.

Each rule gives a machine-readable code and words (``code: words``); a vertebra or film with any reason is
``review``, else ``ok``. Rules look only at the geometry, scores and uncertainties of one film, so they also
run on a film with no ground truth. Thresholds come from the config's ``qc = dict(...)``
(configs/_base_/default_runtime.py; docs/measurements.md says how each was chosen).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from spinekey.measurement.uncertainty import IMAGE_UNC
from spinekey.structures.vertebra import (CORNERS, SpineMeasurement, VertebraInput, box_iou, centre_steps,
                                          column_axis, order_vertebrae, points_box, quad_height, quad_width,
                                          vertebra_quad)


@dataclass(frozen=True)
class QCThresholds:
    min_score: float = 0.5            # detection score below it: review
    min_keypoint_score: float = 0.3   # any keypoint score below it: review
    size_ratio: float = 1.5           # height against its neighbours' mean, either way
    slope_deg: float = 10.0           # superior endplate against both neighbours' endplates
    duplicate_iou: float = 0.5        # box overlap with a neighbour
    gap_factor: float = 1.6           # centre spacing against the film's median spacing
    film_min_score: float = 0.6       # mean detection score of a film the model barely recognises
    max_angle_unc_deg: float = 3.0    # an angle's uncertainty (*_unc, 1 sd) above it: review
    max_shrink: float = 4.0           # film shrunk more than this to the model's input: vertebrae may be lost
    film_flagged_min: float = 1       # flagged vertebrae that send the whole film to review
    extra_levels_ok: float = 0        # extra vertebrae that do not (C7, the sacrum: the AASCE window drops them)
    end_level_choice: float = 0       # 1: review a film whose AASCE window had to drop an end vertebra (0: off)
    min_bottom_width_ratio: float = 0  # bottom vertebra narrower than this x the three above it: review (0: off)

    @classmethod
    def from_config(cls, values: Optional[dict]) -> 'QCThresholds':
        """Thresholds from a config's ``qc = dict(...)`` (defaults for keys it leaves out)."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(values or {}) - known)
        if unknown:
            raise ValueError(f'unknown QC threshold(s) {", ".join(unknown)}; known: {", ".join(sorted(known))}')
        return cls(**{k: float(v) for k, v in (values or {}).items()})


QC_DEFAULTS = QCThresholds()
ANGLE_NAMES = {'cobb_deg': 'Cobb angle', 'lordosis_deg': 'lordosis', 'cobb_pt_deg': 'proximal thoracic Cobb angle',
               'cobb_mt_deg': 'main thoracic Cobb angle', 'cobb_tl_deg': 'thoracolumbar Cobb angle'}


def corners_in_order(quad: np.ndarray) -> bool:
    """True when top_left, top_right, bottom_right, bottom_left go round a convex quadrilateral clockwise in
    image coordinates (y down), i.e. no crossing and no swapped corners."""
    edges = np.roll(quad, -1, axis=0) - quad
    cross = edges[:, 0] * np.roll(edges, -1, axis=0)[:, 1] - edges[:, 1] * np.roll(edges, -1, axis=0)[:, 0]
    return bool(np.all(cross > 0))


def quad_slope(q: np.ndarray) -> float:
    dx, dy = q[1] - q[0]
    return float(np.degrees(np.arctan2(dy, dx)))


def neighbour_quads(quads: Sequence[Optional[np.ndarray]], i: int) -> List[np.ndarray]:
    """The quadrilaterals of vertebra i's cranial and caudal neighbours that have four corners."""
    return [quads[j] for j in (i - 1, i + 1) if 0 <= j < len(quads) and quads[j] is not None]


def height_ratio(q: np.ndarray, neighbours: Sequence[np.ndarray]) -> Optional[float]:
    """Height of ``q`` over its neighbours' mean height (None without a neighbour of positive height)."""
    mean = np.mean([quad_height(n) for n in neighbours]) if neighbours else 0.0
    return quad_height(q) / mean if mean > 0 else None


def slope_offset(q: np.ndarray, neighbours: Sequence[np.ndarray]) -> Optional[float]:
    """Smallest difference (deg) between the superior endplate of ``q`` and those of its two neighbours."""
    return min(abs(quad_slope(q) - quad_slope(n)) for n in neighbours) if len(neighbours) == 2 else None


def spacing_ratios(ordered: Sequence[VertebraInput]) -> Optional[np.ndarray]:
    """Each centre-to-centre step along the spine over the film's median step (None below three placed
    vertebrae or with a zero median)."""
    steps = centre_steps(ordered)
    if steps is None:
        return None
    median = float(np.median(steps))
    return steps / median if median > 0 else None


def vertebra_reasons(ordered: Sequence[VertebraInput], th: QCThresholds = QC_DEFAULTS) -> List[List[str]]:
    """Reasons per vertebra of a film ordered cranial to caudal."""
    quads = [vertebra_quad(v) for v in ordered]
    out = []
    for i, (v, q) in enumerate(zip(ordered, quads)):
        reasons = []
        missing = [n for n in CORNERS if n not in v.points]
        if missing:
            reasons.append(f'missing_keypoints: corner(s) {", ".join(missing)} not found')
        if v.score is not None and v.score < th.min_score:
            reasons.append(f'low_score: the model is unsure this is a vertebra (score {v.score:.2f})')
        if v.keypoint_scores:
            name, low = min(v.keypoint_scores.items(), key=lambda kv: kv[1])
            if low < th.min_keypoint_score:
                reasons.append(f'low_keypoint_score: corner {name} placed with little confidence (score {low:.2f})')
        neighbours = neighbour_quads(quads, i)
        if q is not None:
            ratio = height_ratio(q, neighbours)
            if not corners_in_order(q):
                reasons.append('corner_order: corners out of order or the outline crosses itself')
            elif ratio is not None and (ratio > th.size_ratio or ratio < 1 / th.size_ratio):
                reasons.append(f'size_jump: {ratio:.1f}x as tall as its neighbours')
            off = slope_offset(q, neighbours)
            if off is not None and off > th.slope_deg:
                reasons.append(f'slope_outlier: tilted {off:.0f} deg against both neighbours')
            dupes = [j for j in (i - 1, i + 1) if 0 <= j < len(quads) and quads[j] is not None
                     and box_iou(points_box(q), points_box(quads[j])) > th.duplicate_iou]
            if dupes:
                reasons.append(f'duplicate: overlaps vertebra #{dupes[0] + 1} (one vertebra found twice?)')
        out.append(reasons)
    return out


def film_reasons(ordered: Sequence[VertebraInput], per_vertebra: Sequence[Sequence[str]],
                 expected_levels: Optional[int] = None, th: QCThresholds = QC_DEFAULTS,
                 image: Optional[dict] = None) -> List[str]:
    """Reasons for the whole film (count, gaps, recognition, uncertain angles of the ``image`` row) plus a count
    of flagged vertebrae."""
    n = len(ordered)
    if n == 0:
        return ['no_vertebrae: no vertebra found']
    reasons = []
    if n == 1:
        reasons.append('single_vertebra: one vertebra found, no angle can be measured')
    if expected_levels and (n < expected_levels or n > expected_levels + th.extra_levels_ok):
        code = 'count_low' if n < expected_levels else 'count_high'
        reasons.append(f'{code}: {n} vertebrae found, {expected_levels} expected')
    if column_across_film(ordered):
        reasons.append('film_rotated: the spine runs across the film, not along it (turned 90 deg?), so its '
                       'angles and heights are not to be trusted')
    ratios = spacing_ratios(ordered)
    gaps = [] if ratios is None else [k for k, r in enumerate(ratios) if r > th.gap_factor]
    if gaps:
        reasons.append(f'gap: a vertebra may be missing after #{gaps[0] + 1} (gap {ratios[gaps[0]]:.1f}x the '
                       'usual spacing)')
    scores = [v.score for v in ordered if v.score is not None]
    if scores and float(np.mean(scores)) < th.film_min_score:
        reasons.append(f'low_recognition: the model barely recognises this film (mean score {np.mean(scores):.2f})')
    uncertain = [(c, image[f'{c}_unc']) for c in IMAGE_UNC
                 if image and image.get(f'{c}_unc') is not None and image[f'{c}_unc'] > th.max_angle_unc_deg]
    if uncertain:
        name, unc = max(uncertain, key=lambda cu: cu[1])
        reasons.append(f'uncertain_angle: {ANGLE_NAMES.get(name, name)} uncertain (+-{unc:.1f} deg)')
    flagged = sum(bool(r) for r in per_vertebra)
    if flagged and flagged >= th.film_flagged_min:
        reasons.append(f'vertebrae_flagged: {flagged} of {n} vertebrae need a look')
    return reasons


def column_across_film(ordered: Sequence[VertebraInput]) -> bool:
    """True when three or more vertebrae line up closer to the film's horizontal than to its vertical: the film
    was turned, so what the model calls endplates are the walls."""
    centres = [c for c in (v.centre() for v in ordered) if c is not None]
    if len(centres) < 3:
        return False
    axis = column_axis(np.asarray(centres, float))
    return abs(axis[0]) > abs(axis[1])


def shrink_factor(width: int, height: int, input_scale: Sequence[int]) -> float:
    """How many times a ``width`` x ``height`` film is shrunk by a keep-ratio resize to ``input_scale``
    (mmcv's rule: the long side fits the larger number, the short side the smaller)."""
    long_side, short_side = max(input_scale), min(input_scale)
    factor = min(long_side / max(width, height), short_side / min(width, height))
    return 1.0 / factor


def shrink_reason(width: Optional[int], height: Optional[int], input_scale: Optional[Sequence[int]],
                  th: QCThresholds = QC_DEFAULTS) -> Optional[str]:
    """``film_shrunk`` when the model sees the film more than ``th.max_shrink`` times smaller."""
    if not (width and height and input_scale):
        return None
    shrink = shrink_factor(width, height, input_scale)
    if shrink <= th.max_shrink:
        return None
    return (f'film_shrunk: the film ({width}x{height} px) was shrunk {shrink:.1f}x to the model\'s input '
            f'{max(input_scale)}x{min(input_scale)}; small vertebrae may be missed (crop or tile the film, or use a '
            'model trained at this scale)')


def landscape_reason(width: Optional[int], height: Optional[int], n_found: int) -> Optional[str]:
    """``film_landscape`` when a film clearly wider than tall (1.2x) shows fewer than 3 vertebrae: spine films are
    taken upright, and a model trained on upright ones finds almost nothing on a film stored turned by 90 deg
    (an AASCE film turned: 1 detection of 17). With 3 or more vertebrae ``film_rotated`` judges the column
    itself."""
    if not (width and height) or width <= 1.2 * height or n_found >= 3:
        return None
    return (f'film_landscape: the film ({width}x{height} px) is wider than tall and {n_found} vertebra(e) were '
            'found: is it turned 90 deg? (turn it upright and run it again)')


def add_film_reason(image_row: dict, reason: str) -> None:
    """Append ``reason`` to a measured film's QC (``image_row``: an images.csv row) and send it to review."""
    reasons = [r for r in (image_row.get('qc_reasons') or '').split('; ') if r] + [reason]
    image_row['qc_status'], image_row['qc_reasons'] = qc_status(reasons)


def detection_qc(vertebrae: Sequence[VertebraInput], th: QCThresholds = QC_DEFAULTS) -> List[Tuple[str, str]]:
    """(qc_status, qc_reasons) of each vertebra in input order (results.json's detections), judged in spine
    order against its neighbours; a vertebra that cannot be placed (no keypoints, no box) is ``review``."""
    order = order_vertebrae(vertebrae)
    out = [qc_status(['unplaced: no keypoints or box to place it'])] * len(vertebrae)
    for i, reasons in zip(order, vertebra_reasons([vertebrae[i] for i in order], th)):
        out[i] = qc_status(reasons)
    return out


def reason_words(reasons: str) -> str:
    """QC reasons as a reader wants them: ``code: words; code: words`` -> ``Words. Words.`` (the codes stay in
    the CSVs and results.json for machines)."""
    out = []
    for reason in (r for r in (reasons or '').split('; ') if r):
        words = reason.split(': ', 1)[-1]
        out.append(words[:1].upper() + words[1:] + ('' if words.endswith('.') else '.'))
    return ' '.join(out)


def qc_status(reasons: Sequence[str]) -> Tuple[str, str]:
    return ('review' if reasons else 'ok'), '; '.join(reasons)


def apply_qc(m: SpineMeasurement, expected_levels: Optional[int] = None, th: QCThresholds = QC_DEFAULTS) -> None:
    """Add ``qc_status`` and ``qc_reasons`` to every vertebra row and to the image row of ``m``."""
    per_vertebra = vertebra_reasons(m.ordered, th)
    for row, reasons in zip(m.vertebrae, per_vertebra):
        row['qc_status'], row['qc_reasons'] = qc_status(reasons)
    reasons = film_reasons(m.ordered, per_vertebra, expected_levels, th, m.image)
    if th.end_level_choice:
        reasons += end_choice_reasons(m, expected_levels, th)
    if th.min_bottom_width_ratio:
        reasons += bottom_width_reasons(m.aasce_vertebrae or m.ordered, th)
    m.image['qc_status'], m.image['qc_reasons'] = qc_status(reasons)


def bottom_width_ratio(column: Sequence[VertebraInput]) -> Optional[float]:
    """Width of the column's bottom vertebra over the median width of the three above it (None with fewer
    than four vertebrae with corners at the bottom)."""
    quads = [vertebra_quad(v) for v in column[-4:]]
    if len(quads) < 4 or any(q is None for q in quads):
        return None
    above = float(np.median([quad_width(q) for q in quads[:3]]))
    return quad_width(quads[3]) / above if above > 0 else None


def bottom_width_reasons(column: Sequence[VertebraInput], th: QCThresholds = QC_DEFAULTS) -> List[str]:
    """``end_width`` when the bottom vertebra of the measured column is narrower than ``min_bottom_width_ratio``
    x the three above it. Vertebral bodies widen down the spine to L5 (on AASCE's annotated films a true L5 is
    1.12x its three neighbours' width in median), so a narrow bottom is more often a sacral segment taken as L5.
    Off by default: on AASCE it held more gross failures on fold 1 but not on fold 0 (docs/aasce.md)."""
    ratio = bottom_width_ratio(column)
    if ratio is None or ratio >= th.min_bottom_width_ratio:
        return []
    return [f'end_width: the bottom vertebra is {ratio:.2f}x as wide as the three above it (L5 is usually the '
            'widest): the bottom may not be L5']


def end_choice_reasons(m: SpineMeasurement, expected_levels: Optional[int], th: QCThresholds = QC_DEFAULTS
                       ) -> List[str]:
    """``end_level_choice`` when the AASCE angles were measured on a window of the best-scored vertebrae that
    left out a found one at an end, on a film with no more vertebrae than ``count_high`` allows: whether the
    column's top is T1 or a C7, its bottom L5 or a sacrum, was the detector's score's guess, and a wrong end
    is a gross failure (docs/measurements.md)."""
    kept, n = m.aasce_vertebrae, len(m.ordered)
    if not expected_levels or not kept or n <= len(kept) or n > expected_levels + th.extra_levels_ok:
        return []
    ids = [id(v) for v in m.ordered]
    if id(kept[0]) not in ids or id(kept[-1]) not in ids:  # the rule-based chain's links: filled, not found
        return []
    above, below = ids.index(id(kept[0])), n - 1 - ids.index(id(kept[-1]))
    where = ' and '.join(f'{k} {side}' for k, side in ((above, 'above'), (below, 'below')) if k)
    if not where:
        return []
    return [f'end_level_choice: {n} vertebrae found and {len(kept)} measured ({where} left out): the top may not '
            'be T1 or the bottom not L5']
