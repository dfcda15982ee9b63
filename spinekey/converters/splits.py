"""Deterministic dataset splits that never put one patient's images on both sides.

Groups (patients, or single images when no patient id is known) are dealt to the splits one by one,
largest first in a seeded order, each to the split furthest below its target share within the group's
stratum, so every split gets its share of each stratum (e.g. hardware present / absent).
"""
from __future__ import annotations

import os
import random
from collections import defaultdict
from typing import Dict, Hashable, List, Optional, Sequence, Tuple

from spinekey.io.atomic import atomic_write_json
from spinekey.utils.errors import SpineKeyError


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


def split_parts(coco: dict, ratios: Sequence[float], seed: int = 0, group_by: str = 'patient_id',
                stratify_by: str = None) -> List[dict]:
    """``coco`` cut into ``len(ratios)`` parts of about those shares, a group (an image field ``group_by``,
    else the film's file name) never split, ``stratify_by`` balanced across parts; fixed by ``seed``."""
    group_of = {im['id']: im.get(group_by, f'film:{im["file_name"]}') for im in coco['images']}
    sizes, strata = {}, {}
    for im in coco['images']:
        g = group_of[im['id']]
        sizes[g] = sizes.get(g, 0) + 1
        strata[g] = im.get(stratify_by) if stratify_by else None
    by_group = assign_groups(sizes, strata, ratios, seed)
    return split_coco(coco, {image_id: by_group[g] for image_id, g in group_of.items()}, len(ratios))


def k_folds(coco: dict, folds: int, seed: int = 0, group_by: str = 'patient_id',
            stratify_by: str = None) -> List[Tuple[dict, dict]]:
    """(train, val) COCO dicts of each of ``folds`` cross-validation folds (split_parts with equal shares):
    fold i validates on part i and trains on the others."""
    parts = split_parts(coco, [1.0] * folds, seed, group_by, stratify_by)
    out = []
    for i, val in enumerate(parts):
        train_ids = {im['id'] for k, part in enumerate(parts) if k != i for im in part['images']}
        train = split_coco(coco, {im['id']: 0 if im['id'] in train_ids else 1 for im in coco['images']}, 2)[0]
        out.append((train, val))
    return out


def write_split(coco: dict, source: str, out_dir: str, *, folds: int = 5,
                ratios: Optional[Tuple[Sequence[str], Sequence[float]]] = None, seed: int = 0,
                group_by: str = 'patient_id', stratify_by: Optional[str] = None
                ) -> List[Tuple[str, int, Optional[int]]]:
    """tools/make_split.py as one call: ``folds`` folds (fold{i}_train.json / fold{i}_val.json) or, with
    ``ratios`` (names, fractions), one file per named part; and split.json, which file went where (``source``:
    the COCO file split). Returns (name, images, None) per part or (fold name, train images, val images)."""
    if ratios:
        names = list(ratios[0])
        parts = split_parts(coco, ratios[1], seed, group_by, stratify_by)
        pairs = None
    else:
        if folds < 2:
            raise SpineKeyError(f'--folds must be at least 2, got {folds}')
        names = [f'fold{i}' for i in range(folds)]
        pairs = k_folds(coco, folds, seed, group_by, stratify_by)
        parts = [val for _, val in pairs]
    os.makedirs(out_dir, exist_ok=True)
    record = {'source': os.path.abspath(source), 'seed': seed, 'group_by': group_by, 'stratify_by': stratify_by,
              'parts': {name: sorted(im['file_name'] for im in part['images']) for name, part in zip(names, parts)}}
    written: List[Tuple[str, int, Optional[int]]] = []
    if pairs is None:
        for name, part in zip(names, parts):
            atomic_write_json(os.path.join(out_dir, f'{name}.json'), part)
            written.append((name, len(part['images']), None))
    else:
        for name, (train, val) in zip(names, pairs):
            atomic_write_json(os.path.join(out_dir, f'{name}_train.json'), train)
            atomic_write_json(os.path.join(out_dir, f'{name}_val.json'), val)
            written.append((name, len(train['images']), len(val['images'])))
    atomic_write_json(os.path.join(out_dir, 'split.json'), record, indent=1)
    return written
