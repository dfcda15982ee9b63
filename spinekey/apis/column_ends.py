"""The column-ends locator at inference: where the end vertebrae (T1, L5) are on a whole film, with a learned
uncertainty (spinekey.datasets.column_ends_dataset says why the whole film)."""
from __future__ import annotations

from typing import Dict, List, Tuple

import numpy as np
import torch

from spinekey.apis.model_configs import build_model, model_config
from spinekey.datasets.column_ends_dataset import CENTRE_SUFFIX, cut_canvas, film_frame
from spinekey.io.checkpoint import checkpoint_dataset_meta, load_model_weights
from spinekey.utils.errors import SpineKeyError


class ColumnEndsLocator:
    """The locator of ``config`` (a canvas-sized VertebraRefiner) with the weights of ``checkpoint``; the levels
    it finds come from the checkpoint's keypoint names (``T1_centre``, ``L5_centre``)."""

    def __init__(self, config: str, checkpoint: str, device: str = 'cpu'):
        cfg = model_config(config, 'VertebraRefiner', 'a column-ends locator', '; give e.g. '
                           'configs/column_ends/column-ends_lite0_s384_20e_aasce_cpu.py')
        names = list(checkpoint_dataset_meta(checkpoint).get('keypoint_names') or [])
        if not names or not all(n.endswith(CENTRE_SUFFIX) for n in names):
            raise SpineKeyError(f'{checkpoint}: not a column-ends locator checkpoint (its keypoints are {names}, '
                                f'expected end levels such as T1{CENTRE_SUFFIX}, L5{CENTRE_SUFFIX})')
        self.levels: List[str] = [n[:-len(CENTRE_SUFFIX)] for n in names]
        cfg.model.num_keypoints = len(names)
        cfg.model.backbone.pretrained = False  # the checkpoint holds every weight
        self.model = build_model(cfg)
        load_model_weights(self.model, checkpoint)
        self.model.to(device).eval()
        self.device = device
        self.size = int(cfg.model.patch_size)

    def locate(self, film: np.ndarray) -> Dict[str, Tuple[float, float, float]]:
        """{level: (x, y, sd)} in film pixels for a grayscale film (H, W) at its native resolution; sd is the
        learned Laplace scale as one standard deviation, the larger of the two coordinates'."""
        frame = film_frame(film.shape[0], film.shape[1], self.size)
        canvas = torch.from_numpy(cut_canvas(film, frame)[None, None]).to(self.device)
        with torch.inference_mode():
            pred = self.model.predict_patches(canvas)
        points = frame.to_film(pred['keypoints'][0].cpu().double().numpy())
        sd = pred['sd'][0].cpu().double().numpy().max(-1) / frame.scale
        return {level: (float(p[0]), float(p[1]), float(s)) for level, p, s in zip(self.levels, points, sd)}


def _centre(keypoints) -> np.ndarray:
    return np.asarray(keypoints, float).reshape(-1, 3)[:, :2].mean(0)


def check_column_ends(locator: ColumnEndsLocator, ann_file: str, images_dir: str, results=None,
                      score_thr: float = 0.05, progress=None) -> dict:
    """The locator on annotated films it did not train on: each end level's error in film pixels and in level
    spacings (the distance from that end vertebra's centre to its neighbour's), the share of films where it is
    within half a spacing (the end is found at the right level), and with stage-1 ``results`` (a results.json
    list) the share where the detection scoring ``score_thr`` or more nearest the located point is the true end
    vertebra (box IoU >= 0.5) for each end and for both."""
    import os

    from spinekey.io.coco_files import load_coco_gt
    from spinekey.io.images import read_gray
    from spinekey.structures.levels import LEVELS
    from spinekey.evaluation.functional.matching import box_iou_xywh
    coco = load_coco_gt(ann_file)
    by_image: Dict[int, dict] = {}
    for a in coco['annotations']:
        if a.get('label') and a.get('keypoints'):
            by_image.setdefault(a['image_id'], {})[a['label']] = a
    detections: Dict[int, list] = {}
    for d in results or []:
        if d.get('score', 0) >= score_thr and d.get('keypoints'):
            detections.setdefault(d['image_id'], []).append(d)
    rows = []
    images = [im for im in coco['images'] if all(lv in by_image.get(im['id'], {}) for lv in locator.levels)]
    if not images:
        raise SpineKeyError(f'{ann_file}: no film has vertebrae labelled {" and ".join(locator.levels)} with '
                            'keypoints (the check needs each vertebra\'s level in its "label")')
    for im in (progress(images) if progress else images):
        found = locator.locate(read_gray(os.path.join(images_dir, im['file_name'])))
        truth = by_image[im['id']]
        row = {'file_name': im['file_name']}
        for level in locator.levels:
            i = LEVELS.index(level) if level in LEVELS else None  # the spacing to the annotated neighbour:
            neighbours = [LEVELS[j] for j in (i + 1, i - 1) if i is not None and 0 <= j < len(LEVELS)]
            neighbour = next((n for n in neighbours if n in truth), None)  # T1's is T2, L5's is L4 on AASCE
            point, centre = np.array(found[level][:2]), _centre(truth[level]['keypoints'])
            error = float(np.linalg.norm(point - centre))
            spacing = float(np.linalg.norm(_centre(truth[neighbour]['keypoints']) - centre)) if neighbour else np.nan
            row[level] = {'error_px': round(error, 2), 'error_levels': round(error / spacing, 3),
                          'sd_levels': round(found[level][2] / spacing, 3)}
            if results is not None:
                dets = detections.get(im['id'], [])
                near = min(dets, key=lambda d: np.linalg.norm(_centre(d['keypoints']) - point)) if dets else None
                row[level]['nearest_is_true'] = bool(
                    near is not None and box_iou_xywh(near['bbox'], truth[level]['bbox'])[0, 0] >= 0.5)
        rows.append(row)
    summary = {'films': len(rows)}
    for level in locator.levels:
        errs = np.array([r[level]['error_levels'] for r in rows], float)
        summary[level] = {'median_error_px': float(np.median([r[level]['error_px'] for r in rows])),
                          'within_half_a_level': float(np.mean(errs < 0.5))}
        if results is not None:
            summary[level]['nearest_detection_is_true'] = float(np.mean([r[level]['nearest_is_true'] for r in rows]))
    if results is not None:
        summary['both_nearest_detections_true'] = float(np.mean(
            [all(r[lv]['nearest_is_true'] for lv in locator.levels) for r in rows]))
    return {'summary': summary, 'films': rows}
