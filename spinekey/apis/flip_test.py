"""Flip test-time augmentation for keypoints (MMPose's ``flip_test``): run the mirrored film too, bring its
predictions back (x -> W - x, left/right keypoints swapped by name), and average each detection's keypoints
with those of its mirrored twin.

The two passes disagree most where the model is unsure, so the disagreement is also an uncertainty: a
keypoint's ``keypoint_unc`` becomes sqrt(spread^2 + (d / 2)^2), d the distance between the two passes' points
and spread the heatmap's own. Boxes, masks and scores stay those of the unflipped pass.
"""
from __future__ import annotations

from typing import List, Sequence

import numpy as np
import torch
from mmengine.structures import InstanceData


def flip_perm_for(names: Sequence[str]) -> List[int]:
    """The keypoint order after a left-right flip, or one line saying which name has no partner."""
    from spinekey.datasets.keypoint_names import flip_permutation
    from spinekey.utils.errors import SpineKeyError
    try:
        return flip_permutation(names)
    except ValueError as err:
        raise SpineKeyError(f'flip test: {err} (name keypoints left/right in pairs, or turn flip_test off)') \
            from None


def unflip_instances(inst: InstanceData, width: float, perm: Sequence[int]) -> InstanceData:
    """Predictions on a film mirrored left-right, in the unmirrored film's frame (continuous pixel coordinates,
    x -> width - x), with keypoint channels re-ordered by ``perm`` (spinekey.datasets.keypoint_names
    .flip_permutation)."""
    out = InstanceData()
    boxes = inst.bboxes.clone()
    boxes[:, 0], boxes[:, 2] = width - inst.bboxes[:, 2], width - inst.bboxes[:, 0]
    out.bboxes = boxes
    kps = inst.keypoints[:, list(perm)].clone()
    kps[..., 0] = width - kps[..., 0]
    out.keypoints = kps
    out.keypoint_scores = inst.keypoint_scores[:, list(perm)]
    if 'keypoint_unc' in inst:
        out.keypoint_unc = inst.keypoint_unc[:, list(perm)]
    return out


def _pairs(a: torch.Tensor, b: torch.Tensor, iou_thr: float):
    """Greedy one-to-one pairs (i, j) of boxes a[i], b[j] by decreasing IoU, IoU >= iou_thr."""
    from mmdet.structures.bbox import bbox_overlaps
    if len(a) == 0 or len(b) == 0:
        return []
    iou = bbox_overlaps(a.float(), b.float()).cpu().numpy()
    pairs, used_a, used_b = [], set(), set()
    for flat in np.argsort(-iou, axis=None):
        i, j = np.unravel_index(flat, iou.shape)
        if iou[i, j] < iou_thr:
            break
        if i not in used_a and j not in used_b:
            pairs.append((int(i), int(j)))
            used_a.add(i)
            used_b.add(j)
    return pairs


def merge_flip(orig: InstanceData, back: InstanceData, iou_thr: float = 0.5) -> InstanceData:
    """``orig`` with keypoints averaged with their twins in ``back`` (see :func:`unflip_instances`).

    A detection without a twin keeps its own keypoints; its uncertainty stays the heatmap's spread.
    """
    kps = orig.keypoints.clone()
    scores = orig.keypoint_scores.clone()
    unc = orig.keypoint_unc.clone() if 'keypoint_unc' in orig else torch.zeros_like(scores)
    for i, j in _pairs(orig.bboxes, back.bboxes, iou_thr):
        a, b = orig.keypoints[i], back.keypoints[j]
        kps[i] = (a + b) / 2
        scores[i] = (orig.keypoint_scores[i] + back.keypoint_scores[j]) / 2
        spread = unc[i] if 'keypoint_unc' not in back else ((unc[i] ** 2 + back.keypoint_unc[j] ** 2) / 2).sqrt()
        unc[i] = (spread ** 2 + (torch.linalg.norm(a - b, dim=-1) / 2) ** 2).sqrt()
    merged = orig.clone()
    merged.keypoints, merged.keypoint_scores, merged.keypoint_unc = kps, scores, unc
    return merged
