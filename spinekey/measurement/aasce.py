"""Cobb angles the way the AASCE 2019 challenge scored them, and its SMAPE.

The procedure (re-derived from the challenge's description, checked against the dataset's angles.csv):
- each vertebra's direction is the line from the mid-point of its left side (top-left/bottom-left) to the
  mid-point of its right side; angles between two vertebrae are taken between these lines, in [0, 90];
- the main angle is the largest over all pairs; its end vertebrae are the pair (upper, lower);
- the spine is "S-shaped" when the endplate mid-points (all but the last vertebra's) fall on both sides
  of the chord from the first to the last mid-point;
- not S-shaped: the proximal angle is between the first vertebra and the upper end, the distal one between
  the lower end and the last vertebra;
- S-shaped with the main curve in the upper half of the film (mean y of the end vertebrae's inferior
  endplate mid-points above half the image height): proximal = largest angle between the upper end
  and any vertebra above it, distal = largest between the lower end and any vertebra below it;
- S-shaped with the main curve in the lower half: both other curves lie above it: the second is the
  largest angle between the upper end and a vertebra above it (ending at vertebra k), the third the
  largest between k and a vertebra above k.
Returned in angles.csv's order: (main, second, third).
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np

from spinekey.structures.vertebra import best_window

AASCE_VERTEBRAE = 17  # T1-L5
S_SHAPE_TOLERANCE = 1e-4  # on products of chord-normalised offsets, as in the challenge's procedure

AASCE_ANGLES = ('pt', 'mt', 'tl')  # the order of smape.json's pred/true/unc and of angles.csv


def aasce_window(scores: Sequence[Optional[float]], size: int = AASCE_VERTEBRAE) -> Tuple[int, int]:
    """[start, end) of the ``size`` consecutive vertebrae (cranial to caudal) with the highest total score:
    a model also finds C7 or the sacrum, which the AASCE annotation (T1-L5) does not include."""
    return best_window(scores, size)


def vertebra_directions(corners: np.ndarray) -> np.ndarray:
    """[N, 2]: from the left-side mid-point to the right-side mid-point; corners [N, 4, 2] in SpineKey
    order (top_left, top_right, bottom_right, bottom_left)."""
    corners = np.asarray(corners, float)
    left = (corners[:, 0] + corners[:, 3]) / 2
    right = (corners[:, 1] + corners[:, 2]) / 2
    return right - left


def pairwise_angles_deg(directions: np.ndarray) -> np.ndarray:
    """[N, N] angles between the direction lines (cosine clipped to [0, 1], so in [0, 90] degrees)."""
    norms = np.linalg.norm(directions, axis=1)
    if np.any(norms == 0):
        raise ValueError('a vertebra has coincident left and right side mid-points (zero width)')
    unit = directions / norms[:, None]
    return np.degrees(np.arccos(np.clip(unit @ unit.T, -1.0, 1.0)))


def endplate_midpoints(corners: np.ndarray) -> np.ndarray:
    """[2N, 2]: superior then inferior endplate mid-point of each vertebra, cranial to caudal."""
    corners = np.asarray(corners, float)
    top = (corners[:, 0] + corners[:, 1]) / 2
    bottom = (corners[:, 3] + corners[:, 2]) / 2
    return np.stack([top, bottom], axis=1).reshape(-1, 2)


def is_s_shaped(midpoints: np.ndarray) -> bool:
    """True when the mid-points bend to both sides of the first-to-last chord (an S curve).

    Offsets are each point's coordinates normalised by the chord's extent in y and in x; the curve is S when
    pairs of opposite-signed offsets carry more than a tiny total weight.
    """
    first, last = midpoints[0], midpoints[-1]
    span = first - last
    if span[0] == 0 or span[1] == 0:
        span = np.where(span == 0, 1e-12, span)
    pts = midpoints[:-2]
    offsets = (pts[:, 1] - last[1]) / span[1] - (pts[:, 0] - last[0]) / span[0]
    products = np.outer(offsets, offsets)
    return bool(abs(products.sum() - np.abs(products).sum()) >= S_SHAPE_TOLERANCE)


def aasce_cobb_angles(corners: np.ndarray, image_height: float) -> Tuple[Tuple[float, float, float],
                                                                        Tuple[int, int]]:
    """((main, second, third) in degrees, (upper, lower) end vertebra indices of the main curve).

    ``corners`` [N, 4, 2] cranial to caudal (AASCE: 17 vertebrae T1-L5); ``image_height`` in pixels decides
    whether an S-shaped spine's main curve is in the upper or the lower half of the film.
    """
    corners = np.asarray(corners, float)
    if len(corners) < 2:
        raise ValueError(f'need at least two vertebrae for Cobb angles, got {len(corners)}')
    angles = pairwise_angles_deg(vertebra_directions(corners))
    last = len(corners) - 1
    flat = int(np.argmax(angles))  # first maximum in row-major order: the row is the upper end
    upper, lower = sorted(divmod(flat, len(corners)))
    main = float(angles[upper, lower])
    mids = endplate_midpoints(corners)
    if not is_s_shaped(mids):
        return (main, float(angles[0, upper]), float(angles[lower, last])), (upper, lower)
    # the half is decided by the inferior-endplate mid-points of the two end vertebrae (reproduces angles.csv;
    # superior ones misplace 13 of the 481 training films)
    if mids[2 * upper + 1, 1] + mids[2 * lower + 1, 1] < image_height:
        second = float(angles[upper, :upper + 1].max())
        third = float(angles[lower, lower:].max())
    else:
        k = int(np.argmax(angles[upper, :upper + 1]))
        second = float(angles[upper, k])
        third = float(angles[k, :k + 1].max())
    return (main, second, third), (upper, lower)


def _smape_ratios(predicted, truth) -> np.ndarray:
    """Each image's sum|p - t| / sum(p + t) (0 where both sides sum to zero), unscaled."""
    p, t = np.asarray(predicted, float), np.asarray(truth, float)
    if p.shape != t.shape or p.ndim != 2:
        raise ValueError(f'predicted {p.shape} and truth {t.shape} must both be [images, angles]')
    num = np.abs(p - t).sum(axis=1)
    den = (p + t).sum(axis=1)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def smape_per_image(predicted: Sequence[Sequence[float]], truth: Sequence[Sequence[float]]) -> np.ndarray:
    """Each image's term of the SMAPE, in %: sum_i |p_i - t_i| / sum_i (p_i + t_i) x 100 (0 where both sides sum
    to zero); :func:`smape` is their mean, a paired comparison of two runs resamples them."""
    return 100.0 * _smape_ratios(predicted, truth)


def smape(predicted: Sequence[Sequence[float]], truth: Sequence[Sequence[float]]) -> float:
    """Symmetric mean absolute percentage error of the AASCE challenge, in %:
    mean over images of sum_i |p_i - t_i| / sum_i (p_i + t_i), times 100. An image whose angles sum to
    zero on both sides counts as exact."""
    ratios = _smape_ratios(predicted, truth)
    if not len(ratios):
        raise ValueError('SMAPE of zero images is undefined')
    return float(100.0 * ratios.mean())
