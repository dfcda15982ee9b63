"""Vertebra levels: their anatomical sort order (C1..C7, T1..T12, also Th, L1..L6, S1..S5, Co1.., then other
labels) and the C1..S1 sequence used to name an ordered column from one known end."""
from __future__ import annotations

import re
from typing import Tuple

_REGIONS = {'C': 0, 'T': 1, 'TH': 1, 'L': 2, 'S': 3, 'CO': 4}
_LEVEL = re.compile(r'^\s*(CO|TH|[CTLS])\s*(\d+)\s*$', re.IGNORECASE)


def level_sort_key(level: str) -> Tuple[int, int, str]:
    """Sort key that puts vertebra levels cranial to caudal (``T10`` after ``T9``, ``L1`` after ``T12``).

    Labels that are not a level (``''``, ``vertebra``) sort after every level, by their text.
    """
    match = _LEVEL.match(str(level))
    if not match:
        return (len(_REGIONS), 0, str(level))
    return (_REGIONS[match.group(1).upper()], int(match.group(2)), '')


LEVELS = (['C' + str(i) for i in range(1, 8)] + ['T' + str(i) for i in range(1, 13)]
          + ['L' + str(i) for i in range(1, 6)] + ['S1'])


class LevelOverflow(ValueError):
    """More vertebrae than levels between the given end level and the end of the column."""


def assign_levels(count: int, bottom_level: str) -> list:
    """Level names of ``count`` vertebrae ordered cranial to caudal whose lowest is ``bottom_level``."""
    if bottom_level not in LEVELS:
        raise ValueError(f'unknown level {bottom_level!r}; use one of {LEVELS}')
    end = LEVELS.index(bottom_level) + 1
    if count > end:
        raise LevelOverflow(f'{count} vertebrae cannot end at {bottom_level}: only {end} levels above it')
    return list(LEVELS[end - count:end])


# What the end-level classifier (spinekey.models.end_levels) says of a detection at either end of a column, for
# films annotated T1-L5 (AASCE): the first four classes describe the top of the column, the last four its bottom.
# "above_T1" is C7 or higher, "T3" is T3 or lower, "L3" is L3 or higher, "below_L5" a sacral segment or lower.
END_LEVEL_CLASSES = ('above_T1', 'T1', 'T2', 'T3', 'L3', 'L4', 'L5', 'below_L5')
TOP_END_CLASSES = END_LEVEL_CLASSES[:4]
BOTTOM_END_CLASSES = END_LEVEL_CLASSES[4:]
