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
