"""Named keypoint sets and the name-based flip rule (docs/architecture.md, "File formats")."""
from __future__ import annotations

from typing import List, Mapping, Sequence, Tuple

CORNERS_4 = ['top_left', 'top_right', 'bottom_right', 'bottom_left']
POINTS_6 = CORNERS_4 + ['top_middle', 'bottom_middle']
_SWAPS = {'horizontal': (('left', 'right'),), 'vertical': (('top', 'bottom'),),
          'diagonal': (('left', 'right'), ('top', 'bottom'))}


# the named points that lie on a vertebra's outline, in order around the body: a mask drawn from keypoints
# (converters, a COCO file without masks) goes through them
OUTLINE_ORDER = ('top_left', 'top_middle', 'top_right', 'bottom_right', 'bottom_middle', 'bottom_left')


def outline(points: Mapping[str, Sequence[float]]) -> List[Tuple[float, float]]:
    """(x, y) of the outline points among ``points`` (name -> (x, y) or (x, y, v)), in order around the body;
    a point given with a visibility v counts only when v > 0. Fewer than three: no outline to draw."""
    return [(float(points[n][0]), float(points[n][1])) for n in OUTLINE_ORDER
            if n in points and (len(points[n]) < 3 or points[n][2])]


def keypoint_names_for(num_keypoints: int) -> List[str]:
    """Default names of the 4-corner or 6-point vertebra landmark set."""
    if num_keypoints == 4:
        return list(CORNERS_4)
    if num_keypoints == 6:
        return list(POINTS_6)
    raise ValueError(f'no default keypoint names for K={num_keypoints}; use 4 or 6')


def skeleton_for(num_keypoints: int) -> List[List[int]]:
    """COCO skeleton (1-based) joining the corners around the body."""
    return [[1, 2], [2, 3], [3, 4], [4, 1]] if num_keypoints in (4, 6) else []


def _swap_name(name: str, pairs) -> str:
    """``name`` with each word of ``pairs`` replaced by its partner (both ways at once)."""
    for a, b in pairs:
        name = name.replace(a, '\0').replace(b, a).replace('\0', b)
    return name


def flip_permutation(names: Sequence[str], direction: str = 'horizontal') -> List[int]:
    """Index permutation that re-orders keypoints after a flip, derived from their names.

    A horizontal flip turns ``left`` into ``right`` (vertical: ``top`` into ``bottom``); new[i] = old[perm[i]].
    Names without a partner map to themselves.

    Raises:
        ValueError: unknown direction, or a name whose partner is missing from ``names``.
    """
    if direction not in _SWAPS:
        raise ValueError(f'unknown flip direction {direction!r}')
    index = {n: i for i, n in enumerate(names)}
    perm = []
    for name in names:
        partner = _swap_name(name, _SWAPS[direction])
        if partner not in index:
            raise ValueError(f'keypoint {name!r} flips to {partner!r}, which is not in {list(names)}')
        perm.append(index[partner])
    return perm
