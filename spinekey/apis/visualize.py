"""Sheets to look at (what ``tools/visualize.py`` draws, callable from Python): a COCO file's annotations or a
results.json's predictions beside each film, and a config's training augmentation drawn several times per film
(do the keypoints stay on their anatomy?). Images are written atomically."""
from __future__ import annotations

import os
import os.path as osp
from typing import List, Optional, Sequence

import cv2
import numpy as np

from spinekey.io.atomic import atomic_write_bytes
from spinekey.io.images import read_image
from spinekey.structures.keypoint_names import skeleton_for
from spinekey.visualization import draw_instances


IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff')


def write_image(path: str, image: np.ndarray, quality: int = 85) -> str:
    """``image`` to ``path`` in the format its extension names (JPEG at ``quality``; a name without an image
    extension, e.g. a DICOM's, gets ``.png`` added), atomically, its folder created; returns the path written."""
    ext = osp.splitext(path)[1].lower()
    if ext not in IMAGE_EXTENSIONS:
        path, ext = path + '.png', '.png'
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if ext in ('.jpg', '.jpeg') else []
    data = cv2.imencode(ext, image, params)[1]
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    atomic_write_bytes(path, data.tobytes())
    return path


def side_by_side(images: Sequence[np.ndarray], axis: int = 1, gap: int = 4) -> np.ndarray:
    """``images`` in a row (axis 1) or a column (axis 0), padded to one height (width) with a black ``gap``."""
    if axis == 1:
        height = max(p.shape[0] for p in images)
        return np.hstack([cv2.copyMakeBorder(p, 0, height - p.shape[0], 0, gap, cv2.BORDER_CONSTANT) for p in images])
    width = max(p.shape[1] for p in images)
    return np.vstack([cv2.copyMakeBorder(p, 0, gap, 0, width - p.shape[1], cv2.BORDER_CONSTANT) for p in images])


def annotation_panels(gt: dict, instances: Sequence[dict], img_prefix: str = '', num: int = 3,
                      scale: int = 1) -> List[np.ndarray]:
    """For the first ``num`` films of ``gt`` by id: the film beside it with its ``instances`` (annotations or
    results entries) drawn, boxes, masks and numbered keypoints."""
    skeleton = gt['categories'][0].get('skeleton') if gt['categories'] else None
    panels = []
    for im in sorted(gt['images'], key=lambda i: i['id'])[:num]:
        img = read_image(osp.join(img_prefix, im['file_name']))
        drawn = draw_instances(img, [i for i in instances if i['image_id'] == im['id']], skeleton, scale=scale)
        panels.append(np.hstack([cv2.resize(img, drawn.shape[1::-1]), drawn]))
    return panels


def augmented_sheet(config: str, num: int = 3, repeats: int = 4, seed: int = 0, data_root: Optional[str] = None,
                    ann_file: Optional[str] = None, scale: int = 1) -> np.ndarray:
    """For each of the first ``num`` training films of ``config``, ``repeats`` augmented draws side by side, one
    film a row."""
    from mmdet.registry import DATASETS
    from mmdet.utils import register_all_modules

    import spinekey  # noqa: F401  (registers the transforms)
    from spinekey.utils.cli import load_config
    register_all_modules()
    ds_cfg = load_config(config).train_dataloader.dataset
    if data_root:
        ds_cfg.data_root = data_root.rstrip('/') + '/'
    if ann_file:
        ds_cfg.ann_file = ann_file
    ds_cfg.pipeline = [t for t in ds_cfg.pipeline if t['type'] != 'PackSpineInputs']
    ds = DATASETS.build(ds_cfg)
    skeleton = skeleton_for(len(ds.metainfo.get('keypoint_names') or []))
    np.random.seed(seed)
    rows = []
    for i in range(min(num, len(ds))):
        row = []
        for _ in range(repeats):
            sample = ds.prepare_data(i)
            boxes = sample['gt_bboxes'].numpy() if hasattr(sample['gt_bboxes'], 'numpy') else sample['gt_bboxes']
            instances = [{'bbox': [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])],
                          'keypoints': [float(v) for v in k.reshape(-1)]}
                         for b, k in zip(np.asarray(boxes), sample['gt_keypoints'])]
            img = np.ascontiguousarray(sample['img']).astype(np.uint8)
            row.append(draw_instances(img, instances, skeleton, scale=scale))
        rows.append(side_by_side(row))
    return side_by_side(rows, axis=0)


def draw_annotation_files(ann_file: str, out: str, results_file: Optional[str] = None,
                          score_thr: float = 0.3, img_prefix: str = '', num: int = 3, scale: int = 1) -> List[str]:
    """tools/visualize.py without --pipeline: the annotations of ``ann_file`` (or ``results_file``'s detections
    from ``score_thr`` up) drawn on the first ``num`` films, into ``out`` (a folder, one image per film, or a
    .png/.jpg for one side-by-side panel). Returns the paths written."""
    from spinekey.io.coco_files import load_coco_gt, load_results
    gt = load_coco_gt(ann_file)
    if results_file:
        instances = [r for r in load_results(results_file) if r['score'] >= score_thr]
    else:
        instances = gt['annotations']
    panels = annotation_panels(gt, instances, img_prefix, num, scale)
    if out.lower().endswith(('.png', '.jpg')):
        return [write_image(out, side_by_side(panels), quality=80)]
    return [write_image(osp.join(out, osp.basename(im['file_name'])), panel)
            for im, panel in zip(sorted(gt['images'], key=lambda i: i['id']), panels)]
