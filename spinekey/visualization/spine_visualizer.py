"""mmdet's DetLocalVisualizer that also draws keypoints (DetInferencer, the validation hook, tools/test.py)."""
from __future__ import annotations

from typing import List, Optional

import numpy as np
from mmdet.registry import VISUALIZERS
from mmdet.visualization import DetLocalVisualizer

KEYPOINT_RGB = [(230, 60, 60), (60, 200, 60), (60, 120, 240), (240, 200, 40), (200, 80, 220), (40, 210, 210)]


@VISUALIZERS.register_module()
class SpineLocalVisualizer(DetLocalVisualizer):
    """Boxes, masks and labels as mmdet draws them, plus each instance's keypoints (one colour per index).

    Keypoints come from ``instances.keypoints`` (N, K, 2); ``keypoints_visible`` (GT) hides absent ones.
    """

    def _draw_instances(self, image: np.ndarray, instances, classes: Optional[List[str]],
                        palette: Optional[List[tuple]]) -> np.ndarray:
        drawn = super()._draw_instances(image, instances, classes, palette)
        if 'keypoints' not in instances or len(instances) == 0:
            return drawn
        self.set_image(drawn)
        kps = instances.keypoints.detach().cpu().numpy().reshape(len(instances), -1, 2)
        visible = (instances.keypoints_visible.detach().cpu().numpy().astype(bool)
                   if 'keypoints_visible' in instances else np.ones(kps.shape[:2], bool))
        radius = max(2, int(min(image.shape[:2]) / 300))
        for j in range(kps.shape[1]):
            points = kps[visible[:, j], j]
            if len(points):
                self.draw_circles(points, np.full(len(points), radius), face_colors=KEYPOINT_RGB[j % 6],
                                  edge_colors=KEYPOINT_RGB[j % 6], alpha=1.0)
        return self.get_image()
