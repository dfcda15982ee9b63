"""SimCC codec of the refiner: each keypoint coordinate as a classification over sub-pixel bins along its axis.

Why: issue 32 asks for the output codec to be chosen by ablation. SimCC (Li et al., "SimCC: a Simple Coordinate
Classification Perspective for Human Pose Estimation", ECCV 2022; RTMPose's head, MMPose's SimCCLabel) trades the
2-D heatmap for two 1-D distributions per keypoint at ``split_ratio`` bins per pixel, learned with soft
(Gaussian) labels, so the output is sub-pixel without a heatmap's cell size. The codec owns the bins' geometry
for the loss and for inference alike; the network is in spinekey.models.refiner.vertebra_refiner.
"""
from __future__ import annotations

from typing import Tuple

import torch


class SimCCCodec:
    """``patch_size * split_ratio`` bins along each axis of a ``patch_size`` pixel patch.

    ``encode`` gives each coordinate's target distribution (a Gaussian of ``sigma`` bins, normalised over the
    bins), ``decode`` the keypoints (N, K, 2) in patch pixels (the expectation of each softmax) and a score per
    keypoint (the probability mass within one pixel of it, along x times along y).
    """

    def __init__(self, patch_size: int, split_ratio: int = 2, sigma: float = 6.0):
        if split_ratio < 1 or sigma <= 0:
            raise ValueError(f'split_ratio must be >= 1 and sigma > 0, got {split_ratio} and {sigma}')
        self.patch_size, self.split_ratio, self.sigma = patch_size, split_ratio, sigma
        self.bins = patch_size * split_ratio

    def bin_centres(self, device=None) -> torch.Tensor:
        """Patch-pixel coordinate of each bin's centre (pixel centres at integers: bin i spans
        [i / s - 0.5, (i + 1) / s - 0.5])."""
        return (torch.arange(self.bins, device=device, dtype=torch.float32) + 0.5) / self.split_ratio - 0.5

    def encode(self, keypoints: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Target distributions (N, K, bins) along x and along y of ``keypoints`` (N, K, 2, patch pixels)."""
        c = self.bin_centres(keypoints.device)
        out = []
        for axis in (0, 1):
            d = (c - keypoints[..., axis, None]) * self.split_ratio
            out.append(torch.softmax(-d ** 2 / (2 * self.sigma ** 2), dim=-1))
        return out[0], out[1]

    def decode(self, x_logits: torch.Tensor, y_logits: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(keypoints (N, K, 2) in patch pixels, scores (N, K)) from logits (N, K, bins) along x and y."""
        c = self.bin_centres(x_logits.device)
        coords, mass = [], []
        for logits in (x_logits, y_logits):
            prob = torch.softmax(logits.float(), dim=-1)
            mean = (prob * c).sum(-1)
            coords.append(mean)
            mass.append((prob * ((c - mean[..., None]).abs() <= 1.0)).sum(-1))
        return torch.stack(coords, dim=-1), mass[0] * mass[1]
