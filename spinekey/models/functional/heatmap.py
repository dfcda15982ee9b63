"""Heatmap encoding, decoding and loss for keypoints inside RoIs (pure tensor functions).

Convention: a heatmap of size (H, W) covers a RoI (x1, y1, x2, y2); cell (i, j) has its centre at
x = x1 + (j + 0.5) * (x2 - x1) / W, y = y1 + (i + 0.5) * (y2 - y1) / H. Targets are Gaussians centred on
the exact sub-cell position, so the spatial-softmax cross-entropy is minimised by a distribution whose
local mean is the true point; decoding takes that local mean (sub-pixel) instead of the argmax cell.
"""
from __future__ import annotations

from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


def enlarge_boxes(boxes: Tensor, factor: float) -> Tensor:
    """Scale boxes (Tensor[N, 4], x1y1x2y2) about their centres by ``factor`` (>= 1 keeps edge corners in)."""
    if factor <= 0:
        raise ValueError(f'enlarge factor must be > 0, got {factor}')
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    half = (boxes[:, 2:] - boxes[:, :2]) / 2 * factor
    return torch.cat([centre - half, centre + half], dim=1)


def keypoints_to_heatmap_coords(keypoints: Tensor, boxes: Tensor, size: Tuple[int, int]) -> Tensor:
    """Map image points (Tensor[N, K, 2]) into continuous heatmap cell coordinates of their box."""
    h, w = size
    wh = (boxes[:, 2:] - boxes[:, :2]).clamp(min=1e-3)[:, None, :]
    scale = keypoints.new_tensor([w, h])
    return (keypoints - boxes[:, None, :2]) / wh * scale - 0.5


def heatmap_coords_to_keypoints(coords: Tensor, boxes: Tensor, size: Tuple[int, int]) -> Tensor:
    """Inverse of :func:`keypoints_to_heatmap_coords`."""
    h, w = size
    wh = (boxes[:, 2:] - boxes[:, :2])[:, None, :]
    scale = coords.new_tensor([w, h])
    return (coords + 0.5) / scale * wh + boxes[:, None, :2]


def gaussian_targets(coords: Tensor, visible: Tensor, size: Tuple[int, int],
                     sigma: float) -> Tuple[Tensor, Tensor]:
    """Normalised Gaussian target distributions and their validity.

    Args:
        coords (Tensor[N, K, 2]): heatmap coordinates (x, y) in cells.
        visible (Tensor[N, K] bool): annotated keypoints.
        size: heatmap (H, W). sigma: Gaussian std in cells.

    Returns:
        targets (Tensor[N, K, H, W]) summing to 1 where valid; valid (Tensor[N, K] bool): visible and
        inside the heatmap (keypoints outside the RoI carry no signal and are ignored, as in detectron2).
    """
    h, w = size
    xs = torch.arange(w, dtype=coords.dtype, device=coords.device)
    ys = torch.arange(h, dtype=coords.dtype, device=coords.device)
    gx = torch.exp(-(xs[None, None, :] - coords[..., 0:1]) ** 2 / (2 * sigma ** 2))
    gy = torch.exp(-(ys[None, None, :] - coords[..., 1:2]) ** 2 / (2 * sigma ** 2))
    targets = gy[..., :, None] * gx[..., None, :]
    targets = targets / targets.sum(dim=(-2, -1), keepdim=True).clamp(min=1e-12)
    inside = ((coords[..., 0] >= -0.5) & (coords[..., 0] <= w - 0.5) & (coords[..., 1] >= -0.5)
              & (coords[..., 1] <= h - 0.5))
    return targets, visible.bool() & inside


def heatmap_softmax_loss(logits: Tensor, targets: Tensor, valid: Tensor) -> Tensor:
    """Spatial-softmax cross-entropy against soft targets, averaged over valid keypoints.

    Returns ``logits.sum() * 0`` when nothing is valid so that distributed training keeps the graph.
    """
    if not valid.any():
        return logits.sum() * 0
    n, k, h, w = logits.shape
    log_prob = F.log_softmax(logits.reshape(n, k, h * w), dim=-1)
    ce = -(targets.reshape(n, k, h * w) * log_prob).sum(-1)
    return ce[valid].mean()


def decode_heatmaps(logits: Tensor, radius: int = 2) -> Tuple[Tensor, Tensor]:
    """Sub-cell peak positions and scores of heatmap logits.

    Args:
        logits (Tensor[N, K, H, W]). radius: half-size of the window around the arg-max whose
            probability-weighted mean gives the position.

    Returns:
        coords (Tensor[N, K, 2]) in heatmap cells (x, y); scores (Tensor[N, K]) in [0, 1], the probability
        mass inside the window (a confident, unimodal heatmap scores near 1).
    """
    n, k, h, w = logits.shape
    if n == 0:
        return logits.new_zeros((0, k, 2)), logits.new_zeros((0, k))
    prob = F.softmax(logits.reshape(n, k, h * w).float(), dim=-1).reshape(n, k, h, w)
    peak = prob.reshape(n, k, -1).argmax(-1)
    py, px = (peak // w).float(), (peak % w).float()
    xs = torch.arange(w, device=logits.device, dtype=prob.dtype)
    ys = torch.arange(h, device=logits.device, dtype=prob.dtype)
    in_x = ((xs[None, None, :] - px[..., None]).abs() <= radius).to(prob.dtype)
    in_y = ((ys[None, None, :] - py[..., None]).abs() <= radius).to(prob.dtype)
    weight = prob * in_y[..., :, None] * in_x[..., None, :]
    mass = weight.sum(dim=(-2, -1)).clamp(min=1e-12)
    x = (weight.sum(-2) * xs).sum(-1) / mass
    y = (weight.sum(-1) * ys).sum(-1) / mass
    return torch.stack([x, y], dim=-1), mass.clamp(max=1.0)


def heatmap_spread(logits: Tensor, coords: Tensor) -> Tensor:
    """Per-axis spread (Tensor[N, K, 2], x then y, in cells) of each heatmap's distribution about ``coords``.

    The root-mean-square distance of the whole softmax distribution from the decoded point: a sharp peak gives
    about the target's sigma, a second mode far away (the model hesitating between two corners) a large value.
    It is the keypoint's own uncertainty before any test-time augmentation.
    """
    n, k, h, w = logits.shape
    if n == 0:
        return logits.new_zeros((0, k, 2))
    prob = F.softmax(logits.reshape(n, k, h * w).float(), dim=-1).reshape(n, k, h, w)
    xs = torch.arange(w, device=logits.device, dtype=prob.dtype)
    ys = torch.arange(h, device=logits.device, dtype=prob.dtype)
    var_x = (prob.sum(-2) * (xs - coords[..., 0:1]) ** 2).sum(-1)
    var_y = (prob.sum(-1) * (ys - coords[..., 1:2]) ** 2).sum(-1)
    return torch.stack([var_x, var_y], dim=-1).sqrt()


def spread_to_pixels(spread: Tensor, boxes: Tensor, size: Tuple[int, int]) -> Tensor:
    """Isotropic pixel uncertainty (Tensor[N, K]) from per-axis cell spreads: sqrt((sx^2 + sy^2) / 2) after
    scaling each axis by its cell size in the box."""
    h, w = size
    cell = (boxes[:, 2:] - boxes[:, :2]).clamp(min=0)[:, None, :] / spread.new_tensor([w, h])
    return ((spread * cell) ** 2).mean(-1).sqrt()


def line_angle_loss(points: Tensor, gt_points: Tensor, visible: Tensor, pairs, beta: float = 1.0) -> Tensor:
    """Smooth-L1 (``beta`` degrees) of the angle between each predicted line a->b and the true one, averaged
    over the (instance, pair) lines whose two true points are visible; 0 (with a gradient path) when none is.

    points / gt_points (Tensor[N, K, 2]) in the same frame, visible (Tensor[N, K]), pairs [(a, b), ...].
    """
    a = torch.tensor([p[0] for p in pairs], device=points.device)
    b = torch.tensor([p[1] for p in pairs], device=points.device)
    pred, true = points[:, b] - points[:, a], gt_points[:, b] - gt_points[:, a]
    cross = pred[..., 0] * true[..., 1] - pred[..., 1] * true[..., 0]
    dot = (pred * true).sum(-1)
    angle = torch.rad2deg(torch.atan2(cross, dot))
    ok = (visible[:, a] > 0) & (visible[:, b] > 0) & (true.norm(dim=-1) > 1e-6)
    if not ok.any():
        return points.sum() * 0.0
    return F.smooth_l1_loss(angle[ok], torch.zeros_like(angle[ok]), beta=beta)
