"""Clinical measurements from named vertebra keypoints (pure numpy; definitions in docs/measurements.md).

A vertebra is a mapping keypoint name -> (x, y) in pixels with at least the four corners
``top_left, top_right, bottom_right, bottom_left`` (``top_middle``/``bottom_middle`` when annotated).
"Left"/"right" are image sides; which of them is anterior is passed in (lateral view).
"""
from __future__ import annotations

import math
from typing import Dict, Mapping, Sequence, Tuple

import numpy as np

Point = Tuple[float, float]
Vertebra = Mapping[str, Point]
MEYERDING_NO_SLIP_PERCENT = 5.0


def _p(v: Vertebra, name: str) -> np.ndarray:
    if name not in v:
        raise ValueError(f'keypoint {name!r} missing; have {sorted(v)}')
    return np.asarray(v[name], float)


def distance(v: Vertebra, a: str, b: str) -> float:
    """Distance in pixels between two named keypoints."""
    return float(np.linalg.norm(_p(v, a) - _p(v, b)))


def line_angle_deg(p1: Sequence[float], p2: Sequence[float], q1: Sequence[float], q2: Sequence[float]) -> float:
    """Angle in [0, 90] degrees between the undirected lines p1-p2 and q1-q2."""
    a = math.atan2(p2[1] - p1[1], p2[0] - p1[0])
    b = math.atan2(q2[1] - q1[1], q2[0] - q1[0])
    d = abs(math.degrees(a - b)) % 180.0
    return min(d, 180.0 - d)


def _check_side(anterior: str) -> None:
    if anterior not in ('left', 'right'):
        raise ValueError(f"anterior must be 'left' or 'right', got {anterior!r}")


def heights(v: Vertebra, anterior: str) -> Dict[str, float]:
    """Anterior, middle and posterior heights (px) and the ratios Ha/Hp (wedge) and Hm/Hp (crush).

    Hm joins ``top_middle`` and ``bottom_middle`` when present, else the mid-points of the endplates.
    """
    _check_side(anterior)
    post = 'right' if anterior == 'left' else 'left'
    ha = distance(v, f'top_{anterior}', f'bottom_{anterior}')
    hp = distance(v, f'top_{post}', f'bottom_{post}')
    if 'top_middle' in v and 'bottom_middle' in v:
        hm = distance(v, 'top_middle', 'bottom_middle')
    else:
        top = (_p(v, 'top_left') + _p(v, 'top_right')) / 2
        bottom = (_p(v, 'bottom_left') + _p(v, 'bottom_right')) / 2
        hm = float(np.linalg.norm(top - bottom))
    return {'height_anterior': ha, 'height_middle': hm, 'height_posterior': hp,
            'wedge_ratio': ha / hp if hp else float('nan'), 'crush_ratio': hm / hp if hp else float('nan')}


def height_reduction(h: Mapping[str, float]) -> float:
    """Largest fractional loss among the three heights, relative to the largest of them."""
    values = [h['height_anterior'], h['height_middle'], h['height_posterior']]
    return 1.0 - min(values) / max(values) if max(values) > 0 else float('nan')


def genant_grade(reduction: float) -> int:
    """Genant semi-quantitative grade: < 20% -> 0, 20-25% -> 1, 25-40% -> 2, > 40% -> 3."""
    if reduction < 0.20:
        return 0
    if reduction <= 0.25:
        return 1
    if reduction <= 0.40:
        return 2
    return 3


def endplates(v: Vertebra) -> Tuple[Tuple[np.ndarray, np.ndarray], Tuple[np.ndarray, np.ndarray]]:
    """(superior endplate, inferior endplate), each as a pair of corner points."""
    return ((_p(v, 'top_left'), _p(v, 'top_right')), (_p(v, 'bottom_left'), _p(v, 'bottom_right')))


def cobb_angle(vertebrae: Sequence[Vertebra]) -> Tuple[float, int, int]:
    """Largest angle between the superior endplate of one vertebra and the inferior endplate of another below
    it (vertebrae ordered cranial to caudal). Returns (degrees, upper index, lower index), upper < lower: a
    Cobb angle spans two end vertebrae; one vertebra's own wedge is not one."""
    if len(vertebrae) < 2:
        raise ValueError(f'cobb_angle needs at least two vertebrae, got {len(vertebrae)}')
    best = None
    plates = [endplates(v) for v in vertebrae]
    for i, (sup, _) in enumerate(plates):
        for j in range(i + 1, len(plates)):
            angle = line_angle_deg(*sup, *plates[j][1])
            if best is None or angle > best[0]:
                best = (angle, i, j)
    return best


def lordosis_angle(cranial: Vertebra, caudal: Vertebra, caudal_plate: str = 'superior') -> float:
    """Angle between the superior endplate of ``cranial`` and the ``caudal_plate`` endplate of ``caudal``
    (e.g. L1 superior and S1 superior for lumbar lordosis)."""
    if caudal_plate not in ('superior', 'inferior'):
        raise ValueError(f"caudal_plate must be 'superior' or 'inferior', got {caudal_plate!r}")
    sup, _ = endplates(cranial)
    low = endplates(caudal)[0 if caudal_plate == 'superior' else 1]
    return line_angle_deg(*sup, *low)


def slip_percent(upper: Vertebra, lower: Vertebra, anterior: str) -> float:
    """Displacement of ``upper``'s posterior-inferior corner from ``lower``'s posterior-superior corner,
    measured along ``lower``'s superior endplate towards anterior, in % of that endplate's length
    (positive: anterolisthesis, negative: retrolisthesis)."""
    _check_side(anterior)
    post = 'right' if anterior == 'left' else 'left'
    start = _p(lower, f'top_{post}')
    axis = _p(lower, f'top_{anterior}') - start
    length = float(np.linalg.norm(axis))
    if length == 0:
        return float('nan')
    shift = _p(upper, f'bottom_{post}') - start
    return 100.0 * float(shift @ axis) / length ** 2


def meyerding_grade(slip: float) -> int:
    """Meyerding grade of a slip in %: 0 below 5% (no slip), I < 25, II < 50, III < 75, IV <= 100, V > 100."""
    s = abs(slip)
    if s < MEYERDING_NO_SLIP_PERCENT:
        return 0
    for grade, limit in enumerate((25, 50, 75, 100), start=1):
        if s < limit or (grade == 4 and s <= limit):
            return grade
    return 5
