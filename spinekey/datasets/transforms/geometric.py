"""Geometric transforms that move keypoints exactly like mmdet moves the image and boxes."""
from __future__ import annotations

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmdet.datasets.transforms import RandomFlip, Resize
from mmdet.structures.mask import BitmapMasks, PolygonMasks
from mmdet.registry import TRANSFORMS

from spinekey.structures.keypoint_names import flip_permutation


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


def affine_matrix(img_shape, angle_deg: float, scale: float) -> np.ndarray:
    """2x3 matrix rotating by ``angle_deg`` (counter-clockwise on screen) and scaling about the image centre."""
    h, w = img_shape[:2]
    return cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), angle_deg, scale)


def warp_keypoints(keypoints: np.ndarray, matrix: np.ndarray, img_shape) -> np.ndarray:
    """Apply ``matrix`` to keypoints [N, K, 3]; points that leave the image become absent (v = 0)."""
    out = keypoints.copy()
    xy = out[..., :2] @ matrix[:, :2].T + matrix[:, 2]
    out[..., :2] = xy
    h, w = img_shape[:2]
    outside = (xy[..., 0] < 0) | (xy[..., 1] < 0) | (xy[..., 0] >= w) | (xy[..., 1] >= h)
    out[..., 2] = np.where(outside, 0, out[..., 2])
    return out


@TRANSFORMS.register_module()
class KeypointRandomAffine(BaseTransform):
    """Random small rotation and scale about the image centre, moving masks, boxes and keypoints with it.

    Why not mmdet's RandomAffine: it supports boxes only. Here masks are warped with the same matrix and
    boxes are re-derived as the tight box of each warped mask, so they stay tight after a rotation;
    instances warped out of the image are dropped. The image keeps its size.
    """

    def __init__(self, max_rotate_degree: float = 5.0, scaling_ratio_range=(0.95, 1.05), prob: float = 0.5,
                 border_val: int = 0) -> None:
        self.max_rotate_degree = max_rotate_degree
        self.scaling_ratio_range = scaling_ratio_range
        self.prob = prob
        self.border_val = border_val

    def transform(self, results: dict) -> dict:
        if np.random.rand() >= self.prob:
            return results
        angle = np.random.uniform(-self.max_rotate_degree, self.max_rotate_degree)
        scale = np.random.uniform(*self.scaling_ratio_range)
        return self.apply(results, angle, scale)

    def apply(self, results: dict, angle: float, scale: float) -> dict:
        """Deterministic core (used by tests): warp everything by ``angle`` degrees and ``scale``."""
        h, w = results['img'].shape[:2]
        return warp_sample(results, affine_matrix(results['img'].shape, angle, scale), w, h, self.border_val)


def _keep(results: dict, keep: np.ndarray) -> None:
    for key in ('gt_bboxes', 'gt_bboxes_labels', 'gt_ignore_flags', 'gt_keypoints', 'gt_masks'):
        if results.get(key) is not None:
            results[key] = results[key][keep]


def warp_sample(results: dict, matrix: np.ndarray, out_w: int, out_h: int, border_val: int = 0) -> dict:
    """Warp image, masks and keypoints by the 2x3 ``matrix`` into an (out_h, out_w) image; boxes become the
    tight boxes of the warped masks; instances with nothing left inside are dropped."""
    img = results['img']
    border = (border_val, ) * (img.shape[2] if img.ndim == 3 else 1)
    results['img'] = cv2.warpAffine(img, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR, borderValue=border)
    results['img_shape'] = (out_h, out_w)
    if results.get('gt_keypoints') is not None:
        results['gt_keypoints'] = warp_keypoints(results['gt_keypoints'], matrix, (out_h, out_w))
    masks = results.get('gt_masks')
    if masks is not None:
        if isinstance(masks, PolygonMasks):
            masks = masks.to_bitmap()
        warped = np.stack([cv2.warpAffine(m, matrix, (out_w, out_h), flags=cv2.INTER_NEAREST)
                           for m in masks.masks]) if len(masks) else np.zeros((0, out_h, out_w), np.uint8)
        results['gt_masks'] = BitmapMasks(warped, out_h, out_w)
        keep = warped.reshape(len(warped), -1).any(axis=1)
        boxes = np.zeros((len(warped), 4), np.float32)
        for i in np.flatnonzero(keep):
            ys, xs = np.nonzero(warped[i])
            boxes[i] = [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
        if results.get('gt_bboxes') is not None:
            results['gt_bboxes'] = type(results['gt_bboxes'])(boxes)
        _keep(results, keep)
    elif results.get('gt_bboxes') is not None:
        corners = results['gt_bboxes'].corners.numpy() if hasattr(results['gt_bboxes'], 'corners') else None
        if corners is not None and len(corners):
            moved = corners @ matrix[:, :2].T + matrix[:, 2]
            box = np.concatenate([moved.min(1), moved.max(1)], axis=1)
            box[:, 0::2] = box[:, 0::2].clip(0, out_w)
            box[:, 1::2] = box[:, 1::2].clip(0, out_h)
            results['gt_bboxes'] = type(results['gt_bboxes'])(box.astype(np.float32))
            _keep(results, (box[:, 2] > box[:, 0]) & (box[:, 3] > box[:, 1]))
    return results


@TRANSFORMS.register_module()
class KeypointRandomCrop(BaseTransform):
    """Cut up to ``max_crop`` of the width and of the height (split at random between the two sides),
    moving masks, boxes and keypoints; instances cut away entirely are dropped, partly cut ones keep the
    part inside (their keypoints outside become absent)."""

    def __init__(self, max_crop: float = 0.1, prob: float = 0.5) -> None:
        self.max_crop = max_crop
        self.prob = prob

    def transform(self, results: dict) -> dict:
        if np.random.rand() >= self.prob:
            return results
        h, w = results['img'].shape[:2]
        cut_w, cut_h = (int(np.random.uniform(0, self.max_crop) * n) for n in (w, h))
        x0, y0 = np.random.randint(0, cut_w + 1), np.random.randint(0, cut_h + 1)
        return self.apply(results, x0, y0, w - cut_w, h - cut_h)

    @staticmethod
    def apply(results: dict, x0: int, y0: int, out_w: int, out_h: int) -> dict:
        """Deterministic core: keep the window of size (out_w, out_h) whose top-left corner is (x0, y0)."""
        matrix = np.array([[1.0, 0.0, -x0], [0.0, 1.0, -y0]])
        return warp_sample(results, matrix, out_w, out_h)
