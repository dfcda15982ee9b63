"""Geometric transforms that move keypoints exactly like mmdet moves the image and boxes."""
from __future__ import annotations

import numpy as np
from mmdet.datasets.transforms import RandomFlip, Resize
from mmdet.registry import TRANSFORMS

from spinekey.datasets.keypoint_names import flip_permutation


def flip_keypoints(keypoints: np.ndarray, img_shape, direction: str, names) -> np.ndarray:
    """Mirror ``keypoints`` (np.ndarray[N, K, 3]) in an image of ``img_shape`` (h, w) and swap by name.

    Uses mmdet's box convention x' = w - x (and y' = h - y), so flipping twice is the identity.
    """
    out = keypoints.copy()
    h, w = img_shape[:2]
    if direction in ('horizontal', 'diagonal'):
        out[..., 0] = w - out[..., 0]
    if direction in ('vertical', 'diagonal'):
        out[..., 1] = h - out[..., 1]
    if out.shape[1]:
        out = out[:, flip_permutation(names, direction)]
    return out


@TRANSFORMS.register_module()
class KeypointResize(Resize):
    """mmdet ``Resize`` that also scales ``gt_keypoints`` by ``scale_factor`` (w_scale, h_scale)."""

    def transform(self, results: dict) -> dict:
        results = super().transform(results)
        if results.get('gt_keypoints') is not None:
            w_scale, h_scale = results['scale_factor']
            kps = results['gt_keypoints'].copy()
            kps[..., 0] *= w_scale
            kps[..., 1] *= h_scale
            results['gt_keypoints'] = kps
        return results


@TRANSFORMS.register_module()
class KeypointRandomFlip(RandomFlip):
    """mmdet ``RandomFlip`` that mirrors ``gt_keypoints`` and re-orders them by name.

    A horizontal flip turns each ``*left*`` keypoint into its ``*right*`` partner (vertical: top/bottom),
    using ``results['keypoint_names']`` that SpineCocoDataset puts in every sample: no flip table to keep.
    """

    def _flip(self, results: dict) -> None:
        super()._flip(results)
        if results.get('gt_keypoints') is not None:
            results['gt_keypoints'] = flip_keypoints(
                results['gt_keypoints'], results['img'].shape, results['flip_direction'],
                results.get('keypoint_names', []))
