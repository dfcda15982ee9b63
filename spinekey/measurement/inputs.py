"""Read what tools/measure.py measures: a results.json (predictions) or a COCO ground-truth file, detected
from its shape, into per-image vertebra lists with named keypoints."""
from __future__ import annotations

import os
from typing import Dict, List, Optional, Sequence

from spinekey.io.coco_files import load_coco_gt, load_results, read_json
from spinekey.structures.results import named_points, resolve_keypoint_names, vertebra_from_result
from spinekey.structures.vertebra import ImageInput, VertebraInput
from spinekey.utils.errors import SpineKeyError


# what MMDetection's DetInferencer writes for one film (preds/<film>.json): boxes without keypoints
DET_INFERENCER_KEYS = {'labels', 'scores', 'bboxes'}


def input_kind(data, path: str = 'input') -> str:
    """'results' for a COCO results list, 'gt' for a COCO dataset dict; else one line naming ``path``."""
    if isinstance(data, list):
        return 'results'
    if isinstance(data, dict) and 'annotations' in data:
        return 'gt'
    if isinstance(data, dict) and DET_INFERENCER_KEYS <= set(data):
        raise SpineKeyError(f'{path}: one film\'s MMDetection DetInferencer output (labels, scores, bboxes): it has '
                            'no keypoints to measure; write a results.json with tools/infer.py or inference.sh')
    raise SpineKeyError(f'{path}: neither a results list nor a COCO file with "annotations"')


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
            named_points(ann.get('keypoints') or [], names, gt=True), None, ann.get('label'), ann.get('bbox')))
    return list(images.values())


def read_predictions(path: str, score_thr: float, names: Optional[Sequence[str]] = None,
                     gt_path: Optional[str] = None, kpt_thr: float = 0.0, strict: bool = False,
                     faint_thr: Optional[float] = None) -> List[ImageInput]:
    """Predictions grouped by image; image size, spacing and AASCE angles come from ``gt_path`` (paired by
    file name) when given. Keypoint names: ``names``, else the GT category's, else the default set for K.
    ``faint_thr``: detections scoring in [faint_thr, score_thr) are kept aside in ``ImageInput.faint``."""
    return images_from_results(load_results(path), score_thr, names,
                               load_coco_gt(gt_path, strict) if gt_path else None, kpt_thr, source=path,
                               faint_thr=faint_thr)


def images_from_results(results: List[dict], score_thr: float, names: Optional[Sequence[str]] = None,
                        gt: Optional[dict] = None, kpt_thr: float = 0.0, source: str = 'results',
                        faint_thr: Optional[float] = None) -> List[ImageInput]:
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
        if names is None or len(kps) != 3 * len(names):  # the first result's K names them all
            try:
                names = resolve_keypoint_names(len(kps) // 3, names)
            except ValueError as err:
                raise SpineKeyError(f'{path}: result {i}: {err}') from None
        file_name = r.get('file_name') or str(r['image_id'])
        if r['image_id'] not in images:
            im = gt_images.get(file_name, {})
            images[r['image_id']] = ImageInput(r['image_id'], file_name, im.get('width'), im.get('height'),
                                               im.get('pixel_spacing'), im.get('cobb_angles'))
        image = images[r['image_id']]
        if r.get('score', 1.0) < score_thr:
            image.dropped += 1
            if faint_thr is not None and r.get('score', 1.0) >= faint_thr:
                image.faint.append(vertebra_from_result(r, names, kpt_thr))
            continue
        image.vertebrae.append(vertebra_from_result(r, names, kpt_thr))
    return sorted(images.values(), key=lambda im: im.image_id)


def read_measure_input(path: str, score_thr: float = 0.3, names=None, gt_path=None, strict: bool = False,
                       faint_thr: Optional[float] = None) -> tuple:
    """(kind, images) for tools/measure.py."""
    kind = input_kind(read_json(path, 'input file'), path)
    if kind == 'gt':
        return kind, read_gt(path, strict)
    return kind, read_predictions(path, score_thr, names, gt_path, strict=strict, faint_thr=faint_thr)
