"""Conversion of model predictions to COCO results entries (DESIGN.md section 5, results.json)."""
from __future__ import annotations

from typing import List

import numpy as np


def _rle(mask: np.ndarray) -> dict:
    from pycocotools import mask as mask_utils
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    rle['counts'] = rle['counts'].decode('ascii')
    return rle


def instances_to_coco(pred_instances, image_id: int, file_name: str, score_thr: float = 0.0,
                      category_ids=None) -> List[dict]:
    """COCO results for one image: bbox [x, y, w, h], score, RLE segmentation, keypoints [x, y, s]*K and, when
    the model gives it, keypoint_unc [px]*K (each keypoint's uncertainty, DESIGN.md section 5).

    ``category_ids`` maps label index -> COCO category id (default label + 1).
    """
    p = pred_instances.cpu()
    keep = (p.scores >= score_thr).numpy()
    boxes = p.bboxes.numpy()[keep]
    scores = p.scores.numpy()[keep]
    labels = p.labels.numpy()[keep]
    masks = p.masks.numpy()[keep] if 'masks' in p else None
    kps = p.keypoints.numpy()[keep] if 'keypoints' in p else None
    kp_scores = p.keypoint_scores.numpy()[keep] if 'keypoints' in p else None
    kp_unc = p.keypoint_unc.numpy()[keep] if 'keypoint_unc' in p else None
    out = []
    for i in range(len(boxes)):
        x1, y1, x2, y2 = (float(v) for v in boxes[i])
        label = int(labels[i])
        entry = {'image_id': image_id, 'file_name': file_name,
                 'category_id': category_ids[label] if category_ids else label + 1,
                 'bbox': [round(x1, 2), round(y1, 2), round(x2 - x1, 2), round(y2 - y1, 2)],
                 'score': round(float(scores[i]), 5)}
        if masks is not None:
            entry['segmentation'] = _rle(masks[i])
        if kps is not None:
            flat = np.concatenate([kps[i], kp_scores[i][:, None]], axis=1)
            entry['keypoints'] = [round(float(v), 3) for v in flat.reshape(-1)]
        if kp_unc is not None:
            entry['keypoint_unc'] = [round(float(v), 3) for v in kp_unc[i]]
        out.append(entry)
    return out
