"""Packing that puts keypoints into ``gt_instances`` next to boxes and masks."""
from __future__ import annotations

import numpy as np
import torch
from mmdet.datasets.transforms import PackDetInputs
from mmdet.registry import TRANSFORMS

from spinekey.utils.errors import SpineKeyError


@TRANSFORMS.register_module()
class PackSpineInputs(PackDetInputs):
    """mmdet ``PackDetInputs`` plus ``gt_instances.keypoints`` (N, K, 2) and ``keypoints_visible`` (N, K).

    Raises:
        SpineKeyError: a transform earlier in the pipeline changed the number of boxes without touching
            the keypoints (mmdet's own crops and filters do that); use the keypoint-aware transforms.
    """

    def __init__(self, meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
                                  'flip_direction', 'pixel_spacing'), **kwargs) -> None:
        super().__init__(meta_keys=meta_keys, **kwargs)

    def transform(self, results: dict) -> dict:
        kps = results.get('gt_keypoints')
        packed = super().transform(results)
        if kps is None:
            return packed
        if len(kps) != len(results['gt_bboxes']):
            raise SpineKeyError(
                f'{results.get("img_path")}: {len(results["gt_bboxes"])} boxes but {len(kps)} keypoint sets '
                'after the pipeline; a transform that is not keypoint-aware dropped or added instances')
        flags = results.get('gt_ignore_flags', np.zeros(len(kps), bool))
        for target, keep in ((packed['data_samples'].gt_instances, ~flags),
                             (packed['data_samples'].ignored_instances, flags)):
            sel = kps[keep.astype(bool)]
            target.keypoints = torch.from_numpy(np.ascontiguousarray(sel[..., :2]))
            target.keypoints_visible = torch.from_numpy(np.ascontiguousarray(sel[..., 2] > 0))
        return packed
