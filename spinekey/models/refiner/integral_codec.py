"""Integral (soft-argmax) codec of the refiner: heatmap logits <-> sub-pixel keypoints in patch pixels.

Why integral regression: the expectation of a softmax over the heatmap is a continuous coordinate, so a
32 x 32 map gives sub-pixel corners without a quantisation step (Sun et al., "Integral Human Pose Regression",
2018; MMPose's IntegralRegressionLabel / DSNT head). The codec owns the geometry of the map (cell centres in
patch pixels) for the loss and for inference alike; the head owns only the network.
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch


class IntegralCodec:
    """Heatmaps of ``heatmap_size`` cells over a ``patch_size`` pixel patch.

    ``encode`` gives heatmap logits whose soft-argmax is the given keypoints (a log-Gaussian of ``sigma``
    cells), ``decode`` the keypoints (N, K, 2) in patch pixels and a score per keypoint: the probability mass
    within one cell of the expectation.
    """

    def __init__(self, patch_size: int, heatmap_size: int, sigma: float = 1.0):
        if patch_size % heatmap_size:
            raise ValueError(f'patch_size {patch_size} must be a multiple of heatmap_size {heatmap_size}')
        self.patch_size, self.heatmap_size, self.sigma = patch_size, heatmap_size, sigma
        self.stride = patch_size // heatmap_size

    def cell_centres(self, device=None) -> torch.Tensor:
        """Patch-pixel coordinate of each cell centre along one axis (pixel centres at integers)."""
        return (torch.arange(self.heatmap_size, device=device, dtype=torch.float32) + 0.5) * self.stride - 0.5

    def encode(self, keypoints: torch.Tensor, sigma: Optional[float] = None) -> torch.Tensor:
        """Logits (N, K, H, W) peaked at ``keypoints`` (N, K, 2, patch pixels): a log-Gaussian of ``sigma`` cells
        (the codec's own by default)."""
        sigma = self.sigma if sigma is None else sigma
        c = self.cell_centres(keypoints.device) / self.stride
        kp = keypoints / self.stride
        dx = c.view(1, 1, 1, -1) - kp[..., 0, None, None]
        dy = c.view(1, 1, -1, 1) - kp[..., 1, None, None]
        return -(dx ** 2 + dy ** 2) / (2 * sigma ** 2)

    def decode(self, logits: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(keypoints (N, K, 2) in patch pixels, scores (N, K)) from logits (N, K, H, W)."""
        n, k, h, w = logits.shape
        prob = torch.softmax(logits.reshape(n, k, h * w).float(), dim=-1).reshape(n, k, h, w)
        c = self.cell_centres(logits.device)
        x = (prob.sum(2) * c[:w]).sum(-1)
        y = (prob.sum(3) * c[:h]).sum(-1)
        keypoints = torch.stack([x, y], dim=-1)
        near_x = ((c[:w].view(1, 1, 1, -1) - x[..., None, None]).abs() <= self.stride)
        near_y = ((c[:h].view(1, 1, -1, 1) - y[..., None, None]).abs() <= self.stride)
        scores = (prob * (near_x & near_y)).sum((2, 3))
        return keypoints, scores
