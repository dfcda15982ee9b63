"""Reading COCO ground truth and results files with one clear error per problem."""
from __future__ import annotations

import json
import math
import os
from typing import List

from spinekey.utils.errors import SpineKeyError


def read_json(path: str, what: str = 'JSON file'):
    if not os.path.isfile(path):
        raise SpineKeyError(f'{path}: {what} not found')
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise SpineKeyError(f'{path}: not valid JSON ({err})') from None


def load_coco_gt(path: str) -> dict:
    """A COCO GT dict, checked for the sections and keypoint lengths SpineKey relies on."""
    gt = read_json(path, 'ground-truth file')
    if not isinstance(gt, dict):
        raise SpineKeyError(f'{path}: malformed COCO file (top level is not an object)')
    for key in ('images', 'annotations', 'categories'):
        if not isinstance(gt.get(key), list):
            raise SpineKeyError(f'{path}: malformed COCO file (missing "{key}" list)')
    ks = {c['id']: len(c.get('keypoints') or []) for c in gt['categories']}
    image_ids = {im['id'] for im in gt['images']}
    for ann in gt['annotations']:
        if ann.get('image_id') not in image_ids:
            raise SpineKeyError(f'{path}: annotation {ann.get("id")} refers to unknown image {ann.get("image_id")}')
        k = ks.get(ann.get('category_id'))
        if k is None:
            raise SpineKeyError(f'{path}: annotation {ann.get("id")} has unknown category {ann.get("category_id")}')
        if k and ann.get('keypoints') is not None and len(ann['keypoints']) != 3 * k:
            raise SpineKeyError(f'{path}: annotation {ann.get("id")} has {len(ann["keypoints"])} keypoint values, '
                                f'expected {3 * k} (K={k} from its category)')
    return gt


def load_results(path: str) -> List[dict]:
    """A COCO results list; every entry needs image_id, bbox and score with finite numbers."""
    res = read_json(path, 'results file')
    if not isinstance(res, list):
        raise SpineKeyError(f'{path}: a results file is a JSON list of detections, got {type(res).__name__}')
    for i, r in enumerate(res):
        for key in ('image_id', 'bbox', 'score'):
            if key not in r:
                raise SpineKeyError(f'{path}: entry {i} has no "{key}"')
        values = list(r['bbox']) + [r['score']] + list(r.get('keypoints') or [])
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values):
            raise SpineKeyError(f'{path}: entry {i} (image {r["image_id"]}) has NaN/inf or non-numeric values')
        if r['score'] < 0:
            raise SpineKeyError(f'{path}: entry {i} (image {r["image_id"]}) has a negative score {r["score"]}')
    return res
