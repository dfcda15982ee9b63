"""Vertebra levels in anatomical order: C1..C7, T1..T12 (also Th), L1..L6, S1..S5, Co1.., then other labels."""
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
