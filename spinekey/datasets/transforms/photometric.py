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


@TRANSFORMS.register_module()
class RadiographCLAHE(BaseTransform):
    """Contrast-limited adaptive histogram equalisation (OpenCV's CLAHE), the same on every film, in training and
    at test time. Why: on AP spine films the lumbar end often sits in a washed-out band over the pelvis, where a
    lower L5 or an L4 is faint next to the well-exposed thorax; equalising each of ``tile_grid`` x ``tile_grid``
    tiles, with each tile's histogram clipped at ``clip_limit`` times its mean (so noise is not blown up), brings
    the faint end up to the contrast of the rest. Colour films are equalised on their mean channel and written
    back to every channel (radiographs are grey); images that are not uint8 are clipped to 0-255 first.
    Place it after the resize: tiles are a fraction of the image, and equalising the smaller image is cheaper."""

    def __init__(self, clip_limit: float = 2.0, tile_grid: int = 8) -> None:
        if clip_limit <= 0 or int(tile_grid) < 1:
            raise ValueError(f'RadiographCLAHE: clip_limit must be > 0 and tile_grid >= 1, got {clip_limit}, '
                             f'{tile_grid}')
        self.clip_limit, self.tile_grid = float(clip_limit), int(tile_grid)

    def transform(self, results: dict) -> dict:
        img = results['img']
        grey = img if img.ndim == 2 else img.astype(np.float32).mean(2)
        grey = np.clip(np.rint(grey), 0, 255).astype(np.uint8) if grey.dtype != np.uint8 else grey
        clahe = cv2.createCLAHE(clipLimit=self.clip_limit, tileGridSize=(self.tile_grid, self.tile_grid))
        out = clahe.apply(np.ascontiguousarray(grey))
        if img.ndim == 3:
            out = np.repeat(out[:, :, None], img.shape[2], axis=2)
        results['img'] = out if img.dtype == np.uint8 else out.astype(img.dtype)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(clip_limit={self.clip_limit}, tile_grid={self.tile_grid})'
