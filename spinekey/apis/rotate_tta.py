"""Rotation test-time augmentation: run each film also turned by +a and -a degrees about its centre, bring
those passes' keypoints back into the film's frame and average them with the upright pass
(spinekey.apis.twins).

Why: a Cobb angle is a difference of vertebra tilts, so it does not change when the whole film turns, but the
model's corner errors do: averaging three views cancels part of them (AASCE held-out Cobb SMAPE 9.19% -> 8.79%
on fold 0, 9.62% -> 8.72% on fold 1 at +-4 deg; docs/aasce.md), and how far the views disagree joins each
keypoint's uncertainty.

Coordinates are continuous pixels (a pixel i spans [i, i + 1]), the convention of the model's keypoints; the
image itself is turned about the same point in OpenCV's pixel-centre convention.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np
from mmengine.structures import InstanceData


def rotation_test_angles(degrees: float) -> Tuple[float, ...]:
    """The extra passes for ``rotate_test = degrees``: (+degrees, -degrees), none for 0."""
    try:
        value = abs(float(degrees or 0.0))
    except (TypeError, ValueError):
        value = float('nan')
    if not value <= 45:  # NaN fails too
        raise ValueError(f'rotate_test must be between 0 and 45 degrees, got {degrees!r}')
    return () if value == 0 else (value, -value)


def rotation_matrix(degrees: float, width: int, height: int) -> np.ndarray:
    """2x3 affine: a point p of the film (continuous pixels) lands at M @ [p, 1] in the turned film
    (counter-clockwise on screen for positive degrees, as OpenCV's getRotationMatrix2D)."""
    t = np.radians(degrees)
    c, s = np.cos(t), np.sin(t)
    cx, cy = width / 2.0, height / 2.0
    linear = np.array([[c, s], [-s, c]])
    return np.hstack([linear, (np.array([cx, cy]) - linear @ np.array([cx, cy]))[:, None]])


def rotate_film(img: np.ndarray, degrees: float) -> np.ndarray:
    """The film turned by ``degrees`` about its centre, same size, borders filled by the edge pixels.

    The same turn as :func:`rotation_matrix`: OpenCV addresses pixel centres at integers, so the centre that
    is (w/2, h/2) in continuous pixels is ((w-1)/2, (h-1)/2) here."""
    import cv2
    h, w = img.shape[:2]
    matrix = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), degrees, 1.0)
    return cv2.warpAffine(img, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def unrotate_instances(inst: InstanceData, degrees: float, width: int, height: int) -> InstanceData:
    """Predictions on the film turned by ``degrees``, in the upright film's frame: keypoints turned back, each
    box the bounding box of its turned-back corners (for pairing with the upright pass only)."""
    import torch
    # turning back is turning by -degrees about the same centre
    back = torch.as_tensor(rotation_matrix(-degrees, width, height), dtype=inst.keypoints.dtype,
                           device=inst.keypoints.device)
    out = InstanceData()
    kps = inst.keypoints
    out.keypoints = kps @ back[:, :2].T + back[:, 2]
    x1, y1, x2, y2 = inst.bboxes.unbind(-1)
    corners = torch.stack([torch.stack([x1, y1], -1), torch.stack([x2, y1], -1), torch.stack([x2, y2], -1),
                           torch.stack([x1, y2], -1)], 1).to(back.dtype)
    turned = corners @ back[:, :2].T + back[:, 2]
    out.bboxes = torch.cat([turned.min(1).values, turned.max(1).values], -1).to(inst.bboxes.dtype)
    out.keypoint_scores = inst.keypoint_scores
    if 'keypoint_unc' in inst:
        out.keypoint_unc = inst.keypoint_unc  # a turn keeps distances
    return out
