"""Predictions of one film from several test-time passes (mirrored, rotated), already brought back into the
film's frame: pair each detection with its twin in every other pass and average their keypoints.

The passes disagree most where the model is unsure, so their disagreement is also an uncertainty: a keypoint's
``keypoint_unc`` becomes sqrt(spread^2 + d^2), spread the heatmaps' own (root mean square over the passes that
carry one) and d the root mean square distance of the passes' points to their mean (|a - b| / 2 for two).
Boxes, masks and scores stay those of the first pass.
"""
from __future__ import annotations

from typing import List, Sequence, Tuple

import numpy as np
import torch
from mmengine.structures import InstanceData

from spinekey.structures.vertebra import box_iou_matrix


def pair_boxes(a: torch.Tensor, b: torch.Tensor, iou_thr: float) -> List[Tuple[int, int]]:
    """Greedy one-to-one pairs (i, j) of boxes a[i], b[j] by decreasing IoU, IoU >= iou_thr."""
    if len(a) == 0 or len(b) == 0:
        return []
    iou = box_iou_matrix(a.detach().cpu().numpy(), b.detach().cpu().numpy())
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


def merge_twins(orig: InstanceData, others: Sequence[InstanceData], iou_thr: float = 0.5) -> InstanceData:
    """``orig`` with each detection's keypoints averaged with its twins (IoU >= ``iou_thr``) in ``others``.

    A detection without any twin keeps its own keypoints; its uncertainty stays the heatmap's spread.
    """
    points = [[orig.keypoints[i]] for i in range(len(orig))]
    scores = [[orig.keypoint_scores[i]] for i in range(len(orig))]
    has_unc = 'keypoint_unc' in orig
    spreads = [[orig.keypoint_unc[i]] if has_unc else [] for i in range(len(orig))]
    for other in others:
        for i, j in pair_boxes(orig.bboxes, other.bboxes, iou_thr):
            points[i].append(other.keypoints[j])
            scores[i].append(other.keypoint_scores[j])
            if 'keypoint_unc' in other:
                spreads[i].append(other.keypoint_unc[j])
    kps = orig.keypoints.clone()
    mean_scores = orig.keypoint_scores.clone()
    unc = orig.keypoint_unc.clone() if has_unc else torch.zeros_like(mean_scores)
    for i in range(len(orig)):
        if len(points[i]) == 1:
            continue
        stack = torch.stack(points[i])
        kps[i] = stack.mean(0)
        mean_scores[i] = torch.stack(scores[i]).mean(0)
        spread = (torch.stack(spreads[i]) ** 2).mean(0).sqrt() if spreads[i] else torch.zeros_like(unc[i])
        disagreement_sq = (torch.linalg.norm(stack - kps[i], dim=-1) ** 2).mean(0)
        unc[i] = (spread ** 2 + disagreement_sq).sqrt()
    merged = orig.clone()
    merged.keypoints, merged.keypoint_scores, merged.keypoint_unc = kps, mean_scores, unc
    return merged
