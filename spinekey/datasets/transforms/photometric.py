"""Photometric augmentation for radiographs: blur, sharpen and exposure changes. Geometry is untouched,
so boxes, masks and keypoints need no update."""
from __future__ import annotations

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RadiographPhotometric(BaseTransform):
    """Each effect applies independently with probability ``prob``, in this order: Gaussian or median blur
    (one of them), sharpen (unsharp mask), brightness add, multiply, contrast about the mean. Films differ in
    focus, detector sharpness and exposure; the model should not care."""

    def __init__(self, prob: float = 0.3, blur_sigma=(0.3, 1.5), median_ksizes=(3, 5), sharpen_amount=(0.2, 0.8),
                 add=(-20, 20), multiply=(0.85, 1.15), contrast=(0.75, 1.25)) -> None:
        self.prob = prob
        self.blur_sigma, self.median_ksizes, self.sharpen_amount = blur_sigma, median_ksizes, sharpen_amount
        self.add, self.multiply, self.contrast = add, multiply, contrast

    def _on(self) -> bool:
        return np.random.rand() < self.prob

    def transform(self, results: dict) -> dict:
        img = results['img']
        dtype = img.dtype
        x = img.astype(np.float32)
        if self._on():
            if np.random.rand() < 0.5:
                x = cv2.GaussianBlur(x, (0, 0), float(np.random.uniform(*self.blur_sigma)))
            else:
                k = int(np.random.choice(self.median_ksizes))
                x = cv2.medianBlur(np.clip(x, 0, 255).astype(np.uint8), k).astype(np.float32)
        if self._on():
            amount = float(np.random.uniform(*self.sharpen_amount))
            x = x + amount * (x - cv2.GaussianBlur(x, (0, 0), 1.0))
        if self._on():
            x = x + float(np.random.uniform(*self.add))
        if self._on():
            x = x * float(np.random.uniform(*self.multiply))
        if self._on():
            mean = float(x.mean())
            x = (x - mean) * float(np.random.uniform(*self.contrast)) + mean
        x = np.clip(x, 0, 255)
        results['img'] = x.astype(dtype) if dtype == np.uint8 else x
        return results
