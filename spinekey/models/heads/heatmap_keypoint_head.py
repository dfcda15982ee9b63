"""RoI keypoint head: RoI features -> one heatmap per keypoint (detectron2-style, Gaussian soft targets)."""
from __future__ import annotations

from typing import Dict, Sequence, Tuple

import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmengine.structures import InstanceData
from torch import Tensor

from mmdet.registry import MODELS
from spinekey.models.functional import (decode_heatmaps, gaussian_targets, heatmap_coords_to_keypoints,
                                        heatmap_softmax_loss, heatmap_spread, keypoints_to_heatmap_coords,
                                        line_angle_loss, spread_to_pixels)
from spinekey.utils.errors import SpineKeyError


@MODELS.register_module()
class HeatmapKeypointHead(BaseModule):
    """Predicts K keypoint heatmaps per RoI.

    In: RoI features (Tensor[N, C, S, S]) from a RoI extractor over the (possibly enlarged) boxes.
    Out of ``forward``: logits (Tensor[N, K, H, W]), H = W = S * 2 * ``upsample`` (14 -> 56 by default).
    ``loss`` returns ``{'loss_kpt'}``; ``predict`` returns ``InstanceData`` with ``keypoints`` (N, K, 2) in
    the boxes' pixel frame, ``keypoint_scores`` (N, K) and ``keypoint_unc`` (N, K), the heatmap's spread about
    each keypoint in pixels (its own uncertainty).

    Args:
        num_keypoints: K, taken from the dataset's category.
        in_channels: channels of the RoI features. conv_channels / num_convs: the 3x3 conv stack.
        upsample: extra bilinear factor after the stride-2 deconvolution.
        sigma: std of the Gaussian target in heatmap cells. decode_radius: window for sub-cell decoding.
        loss_weight: multiplier of ``loss_kpt``.
        tilt_pairs / tilt_loss_weight: keypoint index pairs (a, b) whose line's direction matters (the
            endplates of a vertebra: ``[(0, 1), (3, 2)]`` for top_left, top_right, bottom_right, bottom_left)
            and the weight of ``loss_tilt``, the smooth-L1 of the angle (degrees) between each decoded line
            and its true one. Why: a Cobb angle is a difference of endplate tilts, and corner errors that
            tilt an endplate cost far more than ones that shift it (notes/aasce-error-analysis.md); the
            heatmap loss alone weighs both alike. Off (weight 0) by default.
    """

    def __init__(self, num_keypoints: int, in_channels: int = 256, conv_channels: int = 256,
                 num_convs: int = 4, upsample: int = 2, sigma: float = 1.5, decode_radius: int = 2,
                 loss_weight: float = 1.0, tilt_pairs: Sequence[Sequence[int]] = (),
                 tilt_loss_weight: float = 0.0, init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg or [
            dict(type='Kaiming', layer=['Conv2d', 'ConvTranspose2d'], mode='fan_out',
                 nonlinearity='relu', distribution='normal')])
        if num_keypoints < 1:
            raise ValueError(f'num_keypoints must be >= 1, got {num_keypoints}')
        self.num_keypoints = num_keypoints
        self.upsample = upsample
        self.sigma = sigma
        self.decode_radius = decode_radius
        self.loss_weight = loss_weight
        self.tilt_pairs = [tuple(int(i) for i in pair) for pair in tilt_pairs]
        if any(len(pair) != 2 or not all(0 <= i < num_keypoints for i in pair) for pair in self.tilt_pairs):
            raise ValueError(f'tilt_pairs must be pairs of keypoint indices below K={num_keypoints}, got {tilt_pairs}')
        self.tilt_loss_weight = tilt_loss_weight
        layers = []
        for i in range(num_convs):
            layers += [nn.Conv2d(in_channels if i == 0 else conv_channels, conv_channels, 3, padding=1),
                       nn.ReLU(inplace=True)]
        self.convs = nn.Sequential(*layers)
        self.deconv = nn.ConvTranspose2d(conv_channels if num_convs else in_channels, num_keypoints, 4,
                                         stride=2, padding=1)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        """Refuse weights of another K, whichever loader calls (ours, mmengine's ``load_checkpoint``, mmdet's
        ``init_detector``/``DetInferencer``): a silently skipped head would run with random weights."""
        weight = state_dict.get(prefix + 'deconv.weight')
        if weight is not None and weight.shape[1] != self.num_keypoints:
            raise SpineKeyError(
                f'the checkpoint\'s keypoint head predicts K={weight.shape[1]} keypoints but this model was built for '
                f'K={self.num_keypoints}: build the model with spinekey.apis.init_model (it reads K from the '
                f'checkpoint) or set model.roi_head.keypoint_head.num_keypoints={weight.shape[1]}')
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def forward(self, roi_feats: Tensor) -> Tensor:
        logits = self.deconv(self.convs(roi_feats))
        if self.upsample > 1:
            logits = F.interpolate(logits, scale_factor=self.upsample, mode='bilinear', align_corners=False)
        return logits

    def loss(self, logits: Tensor, boxes: Tensor, gt_keypoints: Tensor,
             gt_visible: Tensor) -> Dict[str, Tensor]:
        """Loss of ``logits`` for RoIs ``boxes`` (Tensor[N, 4]) against keypoints (Tensor[N, K, 2])."""
        size = tuple(logits.shape[-2:])
        coords = keypoints_to_heatmap_coords(gt_keypoints.to(logits.dtype), boxes, size)
        targets, valid = gaussian_targets(coords, gt_visible, size, self.sigma)
        losses = {'loss_kpt': heatmap_softmax_loss(logits, targets, valid) * self.loss_weight}
        if self.tilt_loss_weight > 0 and self.tilt_pairs:
            decoded = heatmap_coords_to_keypoints(decode_heatmaps(logits, self.decode_radius)[0], boxes.float(), size)
            losses['loss_tilt'] = self.tilt_loss_weight * line_angle_loss(decoded, gt_keypoints.float(), gt_visible,
                                                                          self.tilt_pairs)
        return losses

    def predict(self, logits: Tensor, boxes: Tensor) -> InstanceData:
        size: Tuple[int, int] = tuple(logits.shape[-2:])
        coords, scores = decode_heatmaps(logits, self.decode_radius)
        boxes = boxes.float()
        return InstanceData(keypoints=heatmap_coords_to_keypoints(coords, boxes, size), keypoint_scores=scores,
                            keypoint_unc=spread_to_pixels(heatmap_spread(logits, coords), boxes, size))
