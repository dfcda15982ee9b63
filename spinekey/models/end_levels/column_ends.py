"""Where a T1-L5 column starts and ends among a film's ordered detections, from the end-level classifier's
probabilities on the first and last three of them.

The top reading ``o`` is the level (0 = T1, -1 = the one above, 1 = T2) of the first detection, so detection j
reads as level o + j; the bottom reading ``b`` is the level of the last detection relative to L5 (0 = L5, 1 = a
sacral segment, -1 = L4). A reading's log-likelihood sums the log-probabilities of the classes it gives each of
the three end detections (a level past the classifier's range takes its outermost class: T4 reads as "T3").
The two ends are chosen together: every detection they leave unexplained (the kept count against the levels
they span: a doubled or missed level inside the column) costs ``count_penalty`` nats, so the ends agree with
the count unless the images say otherwise; and an end read as anything but T1 / L5 costs ``end_prior`` nats
(most columns are right: when the images cannot tell, the column is left as it is), once for a column shifted
as a whole (C7..L4 or T2..S1: both ends moved the same way, one error of stage 1). Worked example in
tests/test_models/test_end_levels/test_end_levels.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from spinekey.structures.levels import BOTTOM_END_CLASSES, TOP_END_CLASSES

COLUMN_LEVELS = 17  # T1..L5
END_DETECTIONS = 3  # how many detections at each end the classifier is asked about
MIN_DETECTIONS = 2 * END_DETECTIONS  # fewer: the two ends overlap, the column is left as it is
TOP_READINGS = range(-2, 3)     # the first detection: two above T1 .. T3
BOTTOM_READINGS = range(-2, 3)  # the last detection: L3 .. two below L5


@dataclass
class ColumnEnds:
    top: int              # the first detection's level, 0 = T1 (negative: above T1; positive: T1 not found)
    bottom: int           # the last detection's level, 0 = L5 (positive: below L5; negative: L5 not found)
    unexplained: int      # kept detections minus the levels the two ends span
    confidence: float     # posterior probability of the chosen pair among all pairs
    log_likelihood: float

    @property
    def trim_top(self) -> int:
        return max(0, -self.top)

    @property
    def trim_bottom(self) -> int:
        return max(0, self.bottom)


def top_class(level: int) -> int:
    """Index into TOP_END_CLASSES of a level relative to T1."""
    return int(np.clip(level, -1, len(TOP_END_CLASSES) - 2)) + 1


def bottom_class(level: int) -> int:
    """Index into BOTTOM_END_CLASSES of a level relative to L5."""
    return int(np.clip(level, -(len(BOTTOM_END_CLASSES) - 2), 1)) + len(BOTTOM_END_CLASSES) - 2


def read_column_ends(top_probs: np.ndarray, bottom_probs: np.ndarray, count: int, count_penalty: float = 1.0,
                     max_trim: int = 2, end_prior: float = 4.0) -> Optional[ColumnEnds]:
    """The best (top, bottom) reading of ``count`` ordered detections.

    ``top_probs`` (3, 4): the first three detections' probabilities over TOP_END_CLASSES, cranial first;
    ``bottom_probs`` (3, 4): the last three's over BOTTOM_END_CLASSES, caudal first. At most ``max_trim``
    detections are dropped at an end. None when ``count`` < MIN_DETECTIONS.
    """
    if count < MIN_DETECTIONS:
        return None
    log_top = np.log(np.clip(np.asarray(top_probs, float), 1e-9, None))
    log_bottom = np.log(np.clip(np.asarray(bottom_probs, float), 1e-9, None))
    candidates = []
    for o in TOP_READINGS:
        if -o > max_trim:
            continue
        ll_top = sum(log_top[j, top_class(o + j)] for j in range(END_DETECTIONS))
        for b in BOTTOM_READINGS:
            if b > max_trim:
                continue
            ll_bottom = sum(log_bottom[j, bottom_class(b - j)] for j in range(END_DETECTIONS))
            kept = count - max(0, -o) - max(0, b)
            spanned = COLUMN_LEVELS - max(0, o) + min(0, b)
            unexplained = kept - spanned
            moved = 1 if o == b != 0 else (o != 0) + (b != 0)  # a whole column shifted by one is one error
            cost = count_penalty * abs(unexplained) + end_prior * moved
            candidates.append((ll_top + ll_bottom - cost, o, b, unexplained))
    scores = np.array([c[0] for c in candidates])
    best = int(np.argmax(scores))
    posterior = np.exp(scores - scores.max())
    total, o, b, unexplained = candidates[best]
    return ColumnEnds(top=o, bottom=b, unexplained=unexplained, confidence=float(posterior[best] / posterior.sum()),
                      log_likelihood=float(total))
