"""Heatmap + offset codec of the refiner: a Gaussian heatmap finds the cell, a regressed offset places the keypoint
inside it (the third output the full-resolution corners issue names beside SimCC and integral regression).

Why: argmax of a heatmap is robust to a second, weaker peak (where soft-argmax averages the two), and the offset
removes the argmax's quantisation to a cell (as in MMPose's UDP combined target, or CenterNet's offsets).
Geometry in cells: a keypoint at patch pixel p sits at cell coordinate u = (p + 0.5) / stride - 0.5, so cell i's
centre (i + 0.5) x stride - 0.5 is u = i, the same cell centres as spinekey.models.refiner.integral_codec.
"""
from __future__ import annotations

from typing import Tuple

import torch


class HeatmapOffsetCodec:
    """Heatmaps of ``heatmap_size`` cells over a ``patch_size`` pixel patch, with a 2-D offset per cell.

    ``encode`` gives the training targets: a Gaussian heatmap of ``sigma`` cells (peak 1), each cell's offset to
    the keypoint in cells, and the cells within ``radius`` cells of it, where the offset is learned. ``decode``
    takes the argmax cell and adds its offset: keypoints (N, K, 2) in patch pixels, the score the peak's sigmoid.
    """

    def __init__(self, patch_size: int, heatmap_size: int, sigma: float = 1.5, radius: float = 2.0):
        if patch_size % heatmap_size:
            raise ValueError(f'patch_size {patch_size} must be a multiple of heatmap_size {heatmap_size}')
        self.patch_size, self.heatmap_size, self.sigma, self.radius = patch_size, heatmap_size, sigma, radius
        self.stride = patch_size // heatmap_size

    def to_cells(self, keypoints: torch.Tensor) -> torch.Tensor:
        return (keypoints + 0.5) / self.stride - 0.5

    def to_pixels(self, cells: torch.Tensor) -> torch.Tensor:
        return (cells + 0.5) * self.stride - 0.5

    def encode(self, keypoints: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(heatmap (N, K, H, W) in [0, 1], offsets (N, K, 2, H, W) in cells, mask (N, K, H, W) bool) for
        ``keypoints`` (N, K, 2) in patch pixels."""
        u = self.to_cells(keypoints)
        cells = torch.arange(self.heatmap_size, device=keypoints.device, dtype=keypoints.dtype)
        dx = u[..., 0, None, None] - cells.view(1, 1, 1, -1)  # (N, K, 1, W): keypoint minus cell, along x
        dy = u[..., 1, None, None] - cells.view(1, 1, -1, 1)  # (N, K, H, 1)
        d2 = dx ** 2 + dy ** 2
        heatmap = torch.exp(-d2 / (2 * self.sigma ** 2))
        h = w = self.heatmap_size
        offsets = torch.stack([dx.expand(-1, -1, h, w), dy.expand(-1, -1, h, w)], dim=2)
        return heatmap, offsets, d2 <= self.radius ** 2

    def decode(self, logits: torch.Tensor, offsets: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(keypoints (N, K, 2) in patch pixels, scores (N, K)) from heatmap logits (N, K, H, W) and offsets
        (N, K, 2, H, W) in cells."""
        n, k, h, w = logits.shape
        peak, index = logits.reshape(n, k, h * w).float().max(-1)
        cells = torch.stack([(index % w).float(), torch.div(index, w, rounding_mode='floor').float()], -1)
        return self.to_pixels(cells + self.at_cells(offsets, index).float()), torch.sigmoid(peak)

    @staticmethod
    def peak_index(logits: torch.Tensor) -> torch.Tensor:
        """(N, K) flat index of each heatmap's argmax cell."""
        n, k = logits.shape[:2]
        return logits.reshape(n, k, -1).argmax(-1)

    @staticmethod
    def at_cells(maps: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """(N, K, 2) values of per-keypoint 2-channel maps (N, K, 2, H, W) at flat cell ``index`` (N, K): the offsets
        at the peak, and the model's Laplace scale there."""
        n, k = index.shape
        return maps.reshape(n, k, 2, -1).gather(-1, index[:, :, None, None].expand(n, k, 2, 1))[..., 0]
