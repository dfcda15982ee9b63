"""Levels stage 1 missed inside the column, placed by the refiner: where two neighbouring detections are one or
two spacings too far apart, a seed vertebra is interpolated between them and the refiner re-places its keypoints
on the film at full resolution, starting from the seed. The filled level's corners are then read off the film,
not guessed.

Why: on AASCE a level inside the column often has no detection (a 3-epoch stage 1: 34 and 40 such gaps on the 91
held-out films of folds 0 and 1), and the 17 best-scored then reach past an end of the column. Corners
interpolated between the neighbours cost more than they bring (their tilt is the mean of two others, and Cobb
angles are made of tilts); the true vertebra's own corners in the gap would have lowered Cobb SMAPE by 0.3 and 1.1
points (docs/aasce.md, "Missed levels placed by the refiner"). An interpolated seed sits within about 5% of a
vertebra's width of the true centre, the shift the refiner was trained to correct.

A placed vertebra is a new results.json entry marked ``filled``: its score is the weaker neighbour's (so it joins
the column its neighbours are in, and it is never a found vertebra's score), its seed is kept as
``keypoints_stage1`` and the refiner's uncertainty as ``keypoint_unc``. One that lands on a neighbour (box IoU
above ``duplicate_iou``) is dropped: the long step was a gap in the spacing, not a missed vertebra.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import List, Optional, Sequence

import numpy as np

from spinekey.measurement.chain import missed_places
from spinekey.structures.vertebra import box_iou, order_centres, points_box
from spinekey.utils.errors import SpineKeyError


@dataclass(frozen=True)
class MissedLevels:
    """Where and how missed levels are placed. ``column_thr``: detections scoring this much form the column
    (the measurements' score threshold); ``gap_factor``: a step longer than this many median spacings misses
    ``round(step / spacing) - 1`` levels (as the rule-based chain reads it); ``max_per_gap``: longer gaps are
    left alone (a misread column rather than a miss); ``passes``: refiner passes from the seed;
    ``duplicate_iou``: a placed vertebra overlapping a neighbour more than this is dropped."""
    column_thr: float = 0.3
    gap_factor: float = 1.6
    max_per_gap: int = 2
    passes: int = 2
    duplicate_iou: float = 0.5

    @classmethod
    def from_setting(cls, value) -> Optional['MissedLevels']:
        """None/False: off; True: the defaults; a dict: those fields (a config's ``refine.fill_missed``).

        Raises:
            SpineKeyError: an unknown field or a value out of range, in one line.
        """
        if value is None or value is False:
            return None
        if value is True:
            return cls()
        if not isinstance(value, dict):
            raise SpineKeyError(f'fill_missed must be True, False or a dict of {[f.name for f in fields(cls)]}, '
                                f'got {value!r}')
        unknown = sorted(set(value) - {f.name for f in fields(cls)})
        if unknown:
            raise SpineKeyError(f'fill_missed: unknown setting(s) {unknown}; known: {[f.name for f in fields(cls)]}')
        rule = cls(**value)
        if rule.passes < 1 or rule.max_per_gap < 1 or rule.gap_factor <= 1:
            raise SpineKeyError(f'fill_missed: passes and max_per_gap must be 1 or more and gap_factor over 1, '
                                f'got {rule}')
        return rule


@dataclass
class Seed:
    """A missed level's starting keypoints (K, 2), between the column's vertebrae ``after`` and ``after + 1``."""
    after: int
    keypoints: np.ndarray
    score: float


def column_order(keypoints: np.ndarray) -> List[int]:
    """Indices of vertebrae (N, K, 2) cranial to caudal along the column's principal axis."""
    return order_centres(np.asarray(keypoints, float).mean(1))


def missed_level_seeds(keypoints: np.ndarray, scores: Sequence[float], rule: MissedLevels) -> List[Seed]:
    """Seeds for the levels missed between neighbours of a column (N, K, 2) already in spine order: a step
    ``missing + 1`` median spacings long holds ``missing`` seeds at equal fractions of the way. Fewer than three
    vertebrae give no spacing to judge by, so no seed."""
    keypoints = np.asarray(keypoints, float)
    if len(keypoints) < 3:
        return []
    steps = np.linalg.norm(np.diff(keypoints.mean(1), axis=0), axis=1)
    return [Seed(k, (1 - t) * keypoints[k] + t * keypoints[k + 1], float(min(scores[k], scores[k + 1])))
            for k, t in missed_places(steps, rule.gap_factor, rule.max_per_gap)]


def filled_entry(placed: np.ndarray, unc: np.ndarray, seed: Seed, neighbours: Sequence[dict]) -> dict:
    """The results.json entry of a placed level (keypoints (K, 2) and their 1-sd (K,) in the results' order)."""
    first = neighbours[0]
    kp_scores = np.min([np.asarray(d['keypoints'], float).reshape(-1, 3)[:, 2] for d in neighbours], axis=0)
    x1, y1, x2, y2 = points_box(placed)
    entry = {k: first[k] for k in ('image_id', 'file_name', 'category_id') if k in first}
    entry.update({
        'bbox': [round(float(v), 2) for v in (x1, y1, x2 - x1, y2 - y1)],
        'score': round(seed.score, 5),
        'keypoints': [round(float(v), 2) for p, s in zip(placed, kp_scores) for v in (*p, s)],
        'keypoints_stage1': [round(float(v), 2) for p in seed.keypoints for v in (*p, 0.0)],
        'keypoint_unc': [round(float(u), 3) for u in unc],
        'filled': True,
    })
    return entry


def place_missed_levels(refiner, film: np.ndarray, detections: List[dict], names: Sequence[str],
                        rule: MissedLevels) -> List[dict]:
    """New results.json entries for the levels missed inside the film's column of ``detections`` (keypoints in
    ``names`` order, already refined or not), placed by ``refiner`` (a spinekey.apis.refine.Refiner) from their
    seeds; the detections themselves are not changed."""
    # a level placed before (results refined twice) is part of the column: its gap is not a gap any more
    column = [d for d in detections if d.get('score', 0) >= rule.column_thr and d.get('keypoints')
              and np.all(np.isfinite(np.asarray(d['keypoints'], float)))]
    if len(column) < 3:
        return []
    kps = np.stack([np.asarray(d['keypoints'], float).reshape(-1, 3)[:, :2] for d in column])
    order = column_order(kps)
    column, kps = [column[i] for i in order], kps[order]
    seeds = missed_level_seeds(kps, [d['score'] for d in column], rule)
    if not seeds:
        return []
    placed, unc = refiner.refine_named(film, np.stack([s.keypoints for s in seeds]), names, passes=rule.passes)
    entries = []
    for seed, points, u in zip(seeds, placed, unc):
        pair = (column[seed.after], column[seed.after + 1])
        if max(box_iou(points_box(points), points_box(kps[seed.after + k])) for k in (0, 1)) > rule.duplicate_iou:
            continue
        entries.append(filled_entry(points, u, seed, pair))
    return entries
