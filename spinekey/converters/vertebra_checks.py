"""Sanity checks for annotated vertebra corners, so faulty annotations are reported instead of trained on.

Corners are an array [N, 4, 2] in the order top_left, top_right, bottom_right, bottom_left (image sides),
vertebrae in annotation order (cranial first). Checks run in the spine's own frame (its principal axis),
so a curved or tilted column is not flagged for being curved or tilted.
"""
from __future__ import annotations

from typing import Dict, List

import numpy as np

from spinekey.converters.coco_builder import polygon_area


def spine_frame(corners: np.ndarray):
    """(down, right): unit vectors along the column (pointing to the image bottom) and across it."""
    centres = corners.mean(axis=1)
    if len(centres) >= 2:
        down = np.linalg.svd(centres - centres.mean(0), full_matrices=False)[2][0]
    else:
        down = np.array([0.0, 1.0])
    if down[1] < 0:
        down = -down
    right = np.array([-down[1], down[0]])  # image x grows to the right when y grows downwards
    if right[0] < 0:
        right = -right
    return down, right


def is_convex_quadrilateral(quad: np.ndarray) -> bool:
    """True when the 4 points, in order, bound a convex, non-degenerate, non-self-intersecting polygon."""
    edges = np.roll(quad, -1, axis=0) - quad
    nxt = np.roll(edges, -1, axis=0)
    cross = edges[:, 0] * nxt[:, 1] - edges[:, 1] * nxt[:, 0]
    return bool(np.all(cross > 0) or np.all(cross < 0))


def vertebra_problems(corners: np.ndarray, size_tolerance: float = 3.0) -> Dict[int, List[str]]:
    """Problems per vertebra index (only faulty ones appear).

    - not a convex quadrilateral (corners crossed or collinear);
    - a bottom corner above its top corner along the spine axis (top and bottom swapped);
    - a right corner left of its left partner across the axis (left and right swapped);
    - the vertebra out of order along the column (its centre not below the previous one);
    - a size more than ``size_tolerance`` times off the median (garbled points).
    """
    corners = np.asarray(corners, float)
    problems: Dict[int, List[str]] = {}
    if not len(corners):
        return problems
    down, right = spine_frame(corners)
    along = corners @ down    # [N, 4]
    across = corners @ right  # [N, 4]
    tl, tr, br, bl = range(4)
    sizes = np.array([np.sqrt(polygon_area(q)) for q in corners])
    median_size = float(np.median(sizes)) if len(sizes) else 0.0
    centres = along.mean(axis=1)
    for i, quad in enumerate(corners):
        found = []
        if not is_convex_quadrilateral(quad):
            found.append('corners do not form a convex quadrilateral (out of order or collinear)')
        if along[i, bl] <= along[i, tl] or along[i, br] <= along[i, tr]:
            found.append('a bottom corner lies above its top corner along the spine (top/bottom swapped?)')
        if across[i, tr] <= across[i, tl] or across[i, br] <= across[i, bl]:
            found.append('a right corner lies left of its left corner (left/right swapped?)')
        if i and centres[i] <= centres[i - 1]:
            found.append(f'centre not below vertebra {i - 1} along the spine (vertebrae out of order)')
        if median_size > 0 and not (median_size / size_tolerance <= sizes[i] <= median_size * size_tolerance):
            found.append(f'size {sizes[i]:.0f} px is far from the median {median_size:.0f} px (garbled corners?)')
        if found:
            problems[i] = found
    return problems

