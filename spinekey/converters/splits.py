"""Deterministic dataset splits that never put one patient's images on both sides.

Groups (patients, or single images when no patient id is known) are dealt to the splits one by one,
largest first in a seeded order, each to the split furthest below its target share within the group's
stratum, so every split gets its share of each stratum (e.g. hardware present / absent).
"""
from __future__ import annotations

import random
from collections import defaultdict
from typing import Dict, Hashable, List, Sequence


def assign_groups(sizes: Dict[Hashable, int], strata: Dict[Hashable, Hashable], ratios: Sequence[float],
                  seed: int = 0) -> Dict[Hashable, int]:
    """Split index for every group. ``sizes``: images per group; ``strata``: each group's stratum."""
    total_ratio = float(sum(ratios))
    if total_ratio <= 0 or any(r < 0 for r in ratios):
        raise ValueError(f'ratios must be non-negative and not all zero, got {list(ratios)}')
    shares = [r / total_ratio for r in ratios]
    by_stratum: Dict[Hashable, List[Hashable]] = defaultdict(list)
    for group in sizes:
        by_stratum[strata.get(group)].append(group)
    rng = random.Random(seed)
    out: Dict[Hashable, int] = {}
    for stratum in sorted(by_stratum, key=repr):
        groups = sorted(by_stratum[stratum], key=repr)
        rng.shuffle(groups)
        groups.sort(key=lambda g: -sizes[g])  # stable: ties keep the seeded order
        stratum_total = sum(sizes[g] for g in groups)
        counts = [0] * len(shares)
        for group in groups:
            deficit = [share * stratum_total - count for share, count in zip(shares, counts)]
            best = max(range(len(shares)), key=lambda i: (deficit[i], -i))
            out[group] = best
            counts[best] += sizes[group]
    return out


def split_coco(coco: dict, assignment: Dict[int, int], n_splits: int) -> List[dict]:
    """One COCO dict per split from ``assignment`` (image id -> split index); ids are kept."""
    parts = []
    for k in range(n_splits):
        ids = {im['id'] for im in coco['images'] if assignment[im['id']] == k}
        parts.append(dict(coco, images=[im for im in coco['images'] if im['id'] in ids],
                          annotations=[a for a in coco['annotations'] if a['image_id'] in ids]))
    return parts
