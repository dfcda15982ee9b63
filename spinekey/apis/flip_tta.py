"""Flip test-time augmentation for keypoints (MMPose's ``flip_test``): run the mirrored film too, bring its
predictions back (x -> W - x, left/right keypoints swapped by name), and average each detection's keypoints
with those of its mirrored twin.

The two passes disagree most where the model is unsure, so the disagreement is also an uncertainty: a
keypoint's ``keypoint_unc`` becomes sqrt(spread^2 + (d / 2)^2), d the distance between the two passes' points
and spread the heatmap's own (spinekey.apis.twins). Boxes, masks and scores stay those of the unflipped pass.
"""
from __future__ import annotations

from typing import List, Sequence

from mmengine.structures import InstanceData


def flip_perm_for(names: Sequence[str]) -> List[int]:
    """The keypoint order after a left-right flip, or one line saying which name has no partner."""
    from spinekey.structures.keypoint_names import flip_permutation
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

