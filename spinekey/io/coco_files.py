"""Reading COCO ground truth and results files with one clear error per problem."""
from __future__ import annotations

import json
import math
import os
import sys
from typing import List, Tuple

from spinekey.structures.results import is_finite_number
from spinekey.utils.errors import SpineKeyError


def read_json(path: str, what: str = 'JSON file'):
    if not os.path.isfile(path):
        raise SpineKeyError(f'{path}: {what} not found')
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        if _is_pickle(path):
            raise SpineKeyError(f'{path}: a pickle (what MMDetection\'s test.py --out *.pkl writes), not JSON; '
                                'SpineKey reads results.json: tools/test.py --out results.json or tools/infer.py '
                                'writes it') from None
        raise SpineKeyError(f'{path}: not valid JSON ({err})') from None


def _is_pickle(path: str) -> bool:
    """A pickle of protocol 2 or later starts with the PROTO opcode (0x80); nothing is unpickled here."""
    with open(path, 'rb') as f:
        return f.read(1) == b'\x80'


def annotations_without_mask(gt: dict) -> int:
    """How many of ``gt``'s annotations carry no mask (no or an empty ``segmentation``): keypoint-only COCO files
    (CVAT's "COCO Keypoints" export, detectron2 keypoint sets) have none, and COCOeval's segm AP stops on them."""
    return sum(1 for ann in gt.get('annotations') or [] if not ann.get('segmentation'))


def check_coco(gt, path: str) -> Tuple[List[str], List[str]]:
    """(errors, warnings) of a COCO dict, one line each naming the file, the entry and the problem.

    Errors make the file unusable: missing sections, duplicate ids, an annotation of an unknown image or
    category, a keypoint list of the wrong length, NaN/inf numbers, categories with different K. Warnings
    are data that is probably wrong but can be worked around: boxes of zero size (mmdet drops them),
    negative coordinates and keypoints outside the image.
    """
    if not isinstance(gt, dict):
        return [f'{path}: malformed COCO file (top level is not an object)'], []
    errors, warnings = [], []
    for key in ('images', 'annotations', 'categories'):
        if not isinstance(gt.get(key), list):
            errors.append(f'{path}: malformed COCO file (missing "{key}" list)')
    if errors:
        return errors, warnings
    seen, images = set(), {}
    for im in gt['images']:
        if im.get('id') in seen:
            errors.append(f'{path}: image id {im.get("id")} appears more than once')
        seen.add(im.get('id'))
        images[im.get('id')] = im
    ks = {c.get('id'): len(c.get('keypoints') or []) for c in gt['categories']}
    if len({k for k in ks.values()}) > 1:
        errors.append(f'{path}: categories have different keypoint counts {sorted(set(ks.values()))}; '
                      'SpineKey needs one keypoint set per dataset')
    ann_ids = set()
    for ann in gt['annotations']:
        aid = ann.get('id')
        where = f'{path}: annotation {aid}'
        if aid in ann_ids:
            errors.append(f'{where}: id appears more than once')
        ann_ids.add(aid)
        im = images.get(ann.get('image_id'))
        if im is None:
            errors.append(f'{where} refers to unknown image {ann.get("image_id")}')
            continue
        k = ks.get(ann.get('category_id'))
        if k is None:
            errors.append(f'{where} has unknown category {ann.get("category_id")}')
            continue
        bbox = ann.get('bbox')
        if not (isinstance(bbox, list) and len(bbox) == 4 and all(is_finite_number(v) for v in bbox)):
            errors.append(f'{where} has no valid bbox [x, y, w, h] (got {bbox!r})')
        elif bbox[2] <= 0 or bbox[3] <= 0:
            warnings.append(f'{where} has a box of zero size {bbox} (left out of training)')
        elif bbox[0] < 0 or bbox[1] < 0:
            warnings.append(f'{where} has a box with negative coordinates {bbox}')
        kps = ann.get('keypoints')
        if k and kps is not None:
            if len(kps) != 3 * k:
                errors.append(f'{where} has {len(kps)} keypoint values, expected {3 * k} (K={k} from its category)')
            elif not all(is_finite_number(v) for v in kps):
                errors.append(f'{where} has NaN/inf or non-numeric keypoints')
            else:
                w, h = im.get('width'), im.get('height')
                for j in range(k):
                    x, y, v = kps[3 * j:3 * j + 3]
                    if v and (x < 0 or y < 0 or (w and x > w) or (h and y > h)):
                        warnings.append(f'{where}: keypoint {j} ({x}, {y}) lies outside the image '
                                        f'{w}x{h}')
                        break
    return errors, warnings


def report_coco_problems(gt, path: str, strict: bool = False) -> None:
    """Raise on the first error (``strict``: also on warnings); print each warning on one line."""
    errors, warnings = check_coco(gt, path)
    if strict and warnings:
        errors += [w + ' (--strict)' for w in warnings]
    if errors:
        more = f' (and {len(errors) - 1} more problem(s))' if len(errors) > 1 else ''
        raise SpineKeyError(errors[0] + more)
    for w in warnings:
        print(f'warning: {w}', file=sys.stderr)


def load_coco_gt(path: str, strict: bool = False) -> dict:
    """A COCO GT dict, checked by :func:`check_coco` (warnings printed; errors raise SpineKeyError), each film
    once (:func:`drop_duplicate_films`)."""
    gt = read_json(path, 'ground-truth file')
    report_coco_problems(gt, path, strict)
    return drop_duplicate_films(gt, path, strict)


def drop_duplicate_films(gt: dict, path: str, strict: bool = False) -> dict:
    """``gt`` with each ``file_name`` under one image id: the first; later ids and their annotations dropped.

    Why: one film under two ids runs twice, pairs its ground truth once (half the detections become false
    positives) and can land in the training and the validation part of one split. Each duplicate is one
    warning line; ``strict`` refuses the file instead.
    """
    ids_of: dict = {}
    for im in gt['images']:
        ids_of.setdefault(im.get('file_name'), []).append(im['id'])
    dropped = set()
    for name, ids in ids_of.items():
        if len(ids) < 2:
            continue
        line = f'{path}: film {name!r} appears under image ids {ids}'
        if strict:
            raise SpineKeyError(line + ' (--strict; keep one entry per film)')
        print(f'warning: {line}; kept id {ids[0]}, dropped the others and their annotations', file=sys.stderr)
        dropped.update(ids[1:])
    if not dropped:
        return gt
    return dict(gt, images=[im for im in gt['images'] if im['id'] not in dropped],
                annotations=[a for a in gt['annotations'] if a.get('image_id') not in dropped])


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
