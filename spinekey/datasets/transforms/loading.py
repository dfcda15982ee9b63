"""Annotation loading that keeps keypoints beside mmdet's boxes and masks."""
from __future__ import annotations

import numpy as np
from mmdet.datasets.transforms import LoadAnnotations
from mmdet.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadSpineAnnotations(LoadAnnotations):
    """mmdet ``LoadAnnotations`` plus ``gt_keypoints`` (np.ndarray[N, K, 3], float32: x, y, visibility).

    Instances are in the same order as ``gt_bboxes`` (ignored ones included), so every later transform can
    index them together. Images whose dataset has no keypoints get an (N, 0, 3) array.
    """

    def __init__(self, with_keypoints: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self.with_keypoints = with_keypoints

    def transform(self, results: dict) -> dict:
        results = super().transform(results)
        if self.with_keypoints:
            k = len(results.get('keypoint_names', []))
            kps = [inst.get('keypoints', np.zeros((k, 3), np.float32)) for inst in results['instances']]
            results['gt_keypoints'] = (np.stack(kps).astype(np.float32) if kps
                                       else np.zeros((0, k, 3), np.float32))
        return results
