"""Ground truth for exactly the evaluated images, with keypoints in the model's order (gts.json)."""
from __future__ import annotations

import os.path as osp
from typing import Dict, List, Sequence, Tuple

from spinekey.utils.errors import SpineKeyError


def reorder_keypoints(flat: Sequence[float], names: Sequence[str], target: Sequence[str]) -> List[float]:
    """Re-order a COCO ``[x, y, v]*K`` list from ``names`` to ``target`` order (by name)."""
    index = {n: i for i, n in enumerate(names)}
    out = []
    for name in target:
        i = index[name]
        out += list(flat[3 * i:3 * i + 3])
    return out


def convert_gt(gt: dict, results: List[dict], model_names: Sequence[str]) -> Tuple[dict, List[str]]:
    """GT restricted to the images in ``results`` and keyed by the results' image ids.

    Images are paired by file name: the whole ``file_name`` first, else the base name when only one GT image
    has it, so results from a folder (ids = sorted index) and a GT file with its own ids line up, and two
    films named ``x.png`` in different sub-folders stay apart. Returns (gts dict, names of result images
    that have no GT).

    Raises:
        SpineKeyError: the GT keypoint names are not the model's names (different sets or counts).
    """
    cats = gt['categories']
    gt_names = list(cats[0].get('keypoints') or []) if cats else []
    if model_names and sorted(gt_names) != sorted(model_names):
        raise SpineKeyError(f'ground-truth keypoints {gt_names} are not the model\'s {list(model_names)} '
                            f'(K={len(gt_names)} vs K={len(model_names)})')
    by_path: Dict[str, dict] = {}
    by_base: Dict[str, List[dict]] = {}
    for im in gt['images']:
        by_path.setdefault(_norm(im['file_name']), im)
        by_base.setdefault(osp.basename(_norm(im['file_name'])), []).append(im)
    result_images = {}
    for r in results:
        result_images.setdefault(r['image_id'], _norm(r.get('file_name', '')))
    images, old_to_new, unmatched = [], {}, []
    for image_id, name in sorted(result_images.items()):
        same_base = by_base.get(osp.basename(name), [])
        im = by_path.get(name) or (same_base[0] if len(same_base) == 1 else None)
        if im is None:
            unmatched.append(name)
            continue
        old_to_new[im['id']] = image_id
        images.append(dict(im, id=image_id))
    anns = []
    for ann in gt['annotations']:
        if ann['image_id'] in old_to_new:
            ann = dict(ann, image_id=old_to_new[ann['image_id']])
            if model_names and ann.get('keypoints'):
                ann['keypoints'] = reorder_keypoints(ann['keypoints'], gt_names, model_names)
            anns.append(ann)
    new_cats = [dict(c, keypoints=list(model_names)) if model_names else c for c in cats]
    return {'info': gt.get('info', {}), 'images': images, 'annotations': anns, 'categories': new_cats}, unmatched


def _norm(file_name: str) -> str:
    """``file_name`` with forward slashes and no leading ``./`` (how it is compared, not where it is read)."""
    name = file_name.replace('\\', '/')
    while name.startswith('./'):
        name = name[2:]
    return name
