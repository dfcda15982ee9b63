"""Read what tools/measure.py measures: a results.json (predictions) or a COCO ground-truth file, detected
from its shape, into per-image vertebra lists with named keypoints."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from spinekey.datasets.keypoint_names import keypoint_names_for
from spinekey.io.coco_files import is_finite_number, load_coco_gt, load_results, read_json
from spinekey.measurement.spine import VertebraInput
from spinekey.utils.errors import SpineKeyError


@dataclass
class ImageInput:
    image_id: int
    file_name: str
    width: Optional[int] = None
    height: Optional[int] = None
    pixel_spacing: Optional[List[float]] = None
    cobb_angles: Optional[List[float]] = None  # AASCE [pt, mt, tl] from a converted GT file
    vertebrae: List[VertebraInput] = field(default_factory=list)
    dropped: int = 0  # detections below the score threshold


def input_kind(data) -> str:
    """'results' for a COCO results list, 'gt' for a COCO dataset dict."""
    if isinstance(data, list):
        return 'results'
    if isinstance(data, dict) and 'annotations' in data:
        return 'gt'
    raise SpineKeyError('input is neither a results list nor a COCO file with "annotations"')


def _points(keypoints: Sequence[float], names: Sequence[str], gt: bool, kpt_thr: float) -> Dict[str, tuple]:
    """Visible keypoints by name: GT needs v > 0, predictions a score >= kpt_thr; NaN/inf are dropped."""
    pts = {}
    for j, name in enumerate(names):
        x, y, v = keypoints[3 * j:3 * j + 3]
        if not (is_finite_number(x) and is_finite_number(y)):
            continue
        if (gt and v > 0) or (not gt and (not is_finite_number(v) or v >= kpt_thr)):
            pts[name] = (float(x), float(y))
    return pts


def read_gt(path: str, strict: bool = False) -> List[ImageInput]:
    return images_from_gt(load_coco_gt(path, strict))


def images_from_gt(gt: dict) -> List[ImageInput]:
    """Per-image vertebrae of a (checked) COCO dict; crowd and keypoint-less annotations are left out."""
    names_by_cat = {c['id']: c.get('keypoints') or [] for c in gt['categories']}
    images = {im['id']: ImageInput(im['id'], im['file_name'], im.get('width'), im.get('height'),
                                   im.get('pixel_spacing'), im.get('cobb_angles')) for im in gt['images']}
    for ann in gt['annotations']:
        names = names_by_cat[ann['category_id']]
        if not names or ann.get('iscrowd'):
            continue
        images[ann['image_id']].vertebrae.append(VertebraInput(
            _points(ann.get('keypoints') or [], names, True, 0.0), None, ann.get('label'), ann.get('bbox')))
    return list(images.values())


def read_predictions(path: str, score_thr: float, names: Optional[Sequence[str]] = None,
                     gt_path: Optional[str] = None, kpt_thr: float = 0.0, strict: bool = False) -> List[ImageInput]:
    """Predictions grouped by image; image size, spacing and AASCE angles come from ``gt_path`` (paired by
    file name) when given. Keypoint names: ``names``, else the GT category's, else the default set for K."""
    return images_from_results(load_results(path), score_thr, names,
                               load_coco_gt(gt_path, strict) if gt_path else None, kpt_thr, source=path)


def images_from_results(results: List[dict], score_thr: float, names: Optional[Sequence[str]] = None,
                        gt: Optional[dict] = None, kpt_thr: float = 0.0, source: str = 'results') -> List[ImageInput]:
    """Predictions grouped by image (see read_predictions); ``source`` names the file in errors."""
    path = source
    gt_images = {}
    if gt:
        gt_images = {im['file_name']: im for im in gt['images']}
        # results from a folder carry bare names; GT files often keep a sub-folder: pair by base name too
        gt_images.update({os.path.basename(im['file_name']): im for im in gt['images']
                          if os.path.basename(im['file_name']) not in gt_images})
        if names is None:
            cat_names = [c.get('keypoints') for c in gt['categories'] if c.get('keypoints')]
            names = cat_names[0] if cat_names else None
    images: Dict[int, ImageInput] = {}
    for i, r in enumerate(results):
        kps = r.get('keypoints')
        if not kps:
            raise SpineKeyError(f'{path}: result {i} has no keypoints (detection-only model?): nothing to measure')
        if names is None:
            try:
                names = keypoint_names_for(len(kps) // 3)
            except ValueError:
                raise SpineKeyError(f'{path}: results have K={len(kps) // 3} keypoints; pass --keypoint-names') \
                    from None
        if len(kps) != 3 * len(names):
            raise SpineKeyError(f'{path}: result {i} has {len(kps) // 3} keypoints, expected {len(names)} '
                                f'({",".join(names)})')
        file_name = r.get('file_name') or str(r['image_id'])
        if r['image_id'] not in images:
            im = gt_images.get(file_name, {})
            images[r['image_id']] = ImageInput(r['image_id'], file_name, im.get('width'), im.get('height'),
                                               im.get('pixel_spacing'), im.get('cobb_angles'))
        image = images[r['image_id']]
        if r.get('score', 1.0) < score_thr:
            image.dropped += 1
            continue
        scores = {n: float(kps[3 * j + 2]) for j, n in enumerate(names) if is_finite_number(kps[3 * j + 2])}
        unc = r.get('keypoint_unc')
        unc = ({n: float(u) for n, u in zip(names, unc) if is_finite_number(u) and u >= 0}
               if isinstance(unc, list) and len(unc) == len(names) else None)
        image.vertebrae.append(VertebraInput(_points(kps, names, False, kpt_thr), r.get('score'), None,
                                             r.get('bbox'), scores, unc))
    return sorted(images.values(), key=lambda im: im.image_id)


def read_measure_input(path: str, score_thr: float = 0.3, names=None, gt_path=None, strict: bool = False) -> tuple:
    """(kind, images) for tools/measure.py."""
    kind = input_kind(read_json(path, 'input file'))
    if kind == 'gt':
        return kind, read_gt(path, strict)
    return kind, read_predictions(path, score_thr, names, gt_path, strict=strict)
