"""The refiner (stage 2): each vertebra's K keypoints re-placed on its own full-resolution, oriented patch,
with a learned per-keypoint uncertainty.

In: patches (N, 1, S, S), grayscale 0-255, cut by spinekey.models.refiner.patch_geometry around stage-1
corners. Out (``predict``): keypoints (N, K, 2) in patch pixels, scores (N, K), and the standard deviation
(N, K, 2) of each coordinate in patch pixels. The caller maps keypoints and deviations back to the film
(spinekey.apis.refine).

Network: EfficientNet-Lite0 features at strides 4, 8 and 16 fused at stride 4 (a small FPN), a heatmap per
keypoint decoded by soft-argmax (spinekey.models.refiner.integral_codec), and a Laplace scale per
coordinate read from a second map at the keypoint's own attention (the heatmap's softmax). Loss: L1 on the
coordinates, plus the Laplace negative log-likelihood of the (detached) error for the scale, so the
uncertainty is trained to predict the error instead of being read off a heatmap's spread.

``codec='simcc'`` swaps the output for SimCC (spinekey.models.refiner.simcc_codec): each keypoint's map,
flattened, goes through a shared hidden layer to two 1-D classifications over sub-pixel bins and its Laplace
scale; the loss is the KL divergence to Gaussian soft labels (as RTMPose's head) plus the same NLL.

``codec='offset'`` (spinekey.models.refiner.offset_codec): the heatmap learned as a Gaussian (binary
cross-entropy per cell), a 2-D offset per cell learned by L1 near the keypoint, decoded at the argmax cell; the
Laplace scale is read at that cell.

``heatmap_reg`` (integral codec only) adds DSNT's regulariser (Nibali et al., "Numerical Coordinate Regression
with Convolutional Neural Networks", 2018): the Jensen-Shannon divergence between each heatmap's softmax and a
Gaussian of ``heatmap_reg_sigma`` cells at the true keypoint. Why: the L1 on the soft-argmax alone is met by any
map whose mean is right, spread or two-peaked ones included; the regulariser asks for one sharp peak on the
corner, which the DSNT paper found generalises better.
"""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmengine.model import BaseModel
from torch import nn

from spinekey.models.refiner.integral_codec import IntegralCodec
from spinekey.models.refiner.offset_codec import HeatmapOffsetCodec
from spinekey.models.refiner.simcc_codec import SimCCCodec
from spinekey.utils.errors import SpineKeyError

LAPLACE_SD = math.sqrt(2.0)  # a Laplace distribution of scale b has standard deviation sqrt(2) b


def _conv_bn_relu(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def refiner_losses(keypoints: torch.Tensor, log_scale: torch.Tensor, target: torch.Tensor,
                   visible: torch.Tensor, unc_weight: float = 1.0) -> Dict[str, torch.Tensor]:
    """``loss_kpt``: mean L1 (patch pixels) over visible coordinates; ``loss_unc``: mean Laplace NLL of the
    detached error under scale exp(log_scale), so the scale learns E|error| without pulling the keypoints.

    keypoints / target (N, K, 2), log_scale (N, K, 2), visible (N, K) bool. No visible keypoint: zero losses
    that keep the graph (distributed training needs every parameter in it).
    """
    mask = visible[..., None].expand_as(keypoints).float()
    count = mask.sum()
    if count == 0:
        zero = keypoints.sum() * 0 + log_scale.sum() * 0
        return {'loss_kpt': zero, 'loss_unc': zero}
    err = (keypoints - target).abs()
    nll = err.detach() * torch.exp(-log_scale) + log_scale
    return {'loss_kpt': (err * mask).sum() / count, 'loss_unc': unc_weight * (nll * mask).sum() / count}


def heatmap_js_divergence(logits: torch.Tensor, target: torch.Tensor, visible: torch.Tensor,
                          codec: IntegralCodec, sigma: float = 1.0) -> torch.Tensor:
    """Mean over visible keypoints of JS(softmax(logits) || Gaussian of ``sigma`` cells at ``target``), in nats
    (0 when equal, at most ln 2). logits (N, K, H, W), target (N, K, 2) patch pixels, visible (N, K) bool."""
    n, k, h, w = logits.shape
    p = torch.softmax(logits.reshape(n, k, h * w).float(), -1)
    q = torch.softmax(codec.encode(target, sigma=sigma).reshape(n, k, h * w), -1)
    m = 0.5 * (p + q)
    log_m = torch.log(m.clamp_min(1e-12))

    def kl_to_m(a):
        return (a * (torch.log(a.clamp_min(1e-12)) - log_m)).sum(-1)

    js = 0.5 * kl_to_m(p) + 0.5 * kl_to_m(q)
    mask = visible.float()
    return (js * mask).sum() / mask.sum().clamp(min=1) + logits.sum() * 0


def simcc_losses(x_logits: torch.Tensor, y_logits: torch.Tensor, keypoints: torch.Tensor, log_scale: torch.Tensor,
                 target: torch.Tensor, visible: torch.Tensor, codec: SimCCCodec, unc_weight: float = 1.0
                 ) -> Dict[str, torch.Tensor]:
    """``loss_kpt``: mean over visible keypoints of KL(label || softmax) along x plus along y, the labels being
    ``codec.encode(target)``; ``loss_unc``: as :func:`refiner_losses`, on the decoded ``keypoints``."""
    losses = refiner_losses(keypoints, log_scale, target, visible, unc_weight)
    mask = visible.float()
    if mask.sum() == 0:
        losses['loss_kpt'] = losses['loss_kpt'] + (x_logits.sum() + y_logits.sum()) * 0
        return losses
    kl = 0.0
    for logits, label in zip((x_logits, y_logits), codec.encode(target)):
        kl = kl + (label * (torch.log(label.clamp_min(1e-12)) - torch.log_softmax(logits, -1))).sum(-1)
    losses['loss_kpt'] = (kl * mask).sum() / mask.sum()
    return losses


def offset_losses(heat_logits: torch.Tensor, offsets: torch.Tensor, keypoints: torch.Tensor,
                  log_scale: torch.Tensor, target: torch.Tensor, visible: torch.Tensor, codec: HeatmapOffsetCodec,
                  unc_weight: float = 1.0) -> Dict[str, torch.Tensor]:
    """``loss_kpt``: per visible keypoint, the binary cross-entropy of the heatmap against ``codec.encode``'s
    Gaussian summed over cells and divided by the Gaussian's mass (2 pi sigma^2 cells), plus the mean L1 of the
    offsets (x and y, patch pixels) over the cells within the codec's radius; ``loss_unc``: as
    :func:`refiner_losses`, on the decoded ``keypoints``."""
    losses = refiner_losses(keypoints, log_scale, target, visible, unc_weight)
    mask = visible.float()
    if mask.sum() == 0:
        losses['loss_kpt'] = losses['loss_kpt'] + (heat_logits.sum() + offsets.sum()) * 0
        return losses
    heat_target, offset_target, near = codec.encode(target)
    bce = F.binary_cross_entropy_with_logits(heat_logits, heat_target, reduction='none').sum((2, 3))
    heat = (bce * mask).sum() / mask.sum() / (2 * math.pi * codec.sigma ** 2)
    near = near & visible[..., None, None].bool()
    offset_err = (offsets - offset_target).abs().sum(2)  # (N, K, H, W): |dx| + |dy| in cells
    offset = codec.stride * (offset_err * near).sum() / near.sum().clamp(min=1)
    losses['loss_kpt'] = heat + offset
    return losses


@MODELS.register_module()
class VertebraRefiner(BaseModel):
    """Stage-2 keypoint refiner on vertebra patches.

    Args:
        backbone: config of a backbone returning strides 4, 8, 16 (EfficientNetLite with out_indices (0, 1, 2)).
        in_channels: the backbone's channels at those strides.
        num_keypoints: K (from the dataset's keypoint names; ``fit`` in the config as for stage 1).
        patch_size / heatmap_size: S and the heatmap side (S / 4 for stride 4).
        channels: width of the fused features.
        unc_weight: weight of the uncertainty's NLL.
        codec: 'integral' (soft-argmax heatmaps), 'simcc' (coordinate classification) or 'offset' (a Gaussian
            heatmap's argmax plus a regressed offset).
        offset_sigma / offset_radius: the offset codec's Gaussian and the radius its offsets are learned in
            (cells).
        heatmap_reg / heatmap_reg_sigma: weight of DSNT's Jensen-Shannon regulariser (``loss_heatmap``; 0: off)
            and its Gaussian's sigma in cells; integral codec only. DSNT's weight 1 against coordinates in
            [-1, 1] is ``patch_size / 2`` against our L1 in patch pixels.
        simcc_split / simcc_sigma / simcc_hidden: SimCC's bins per pixel, label width in bins, hidden width.
        channels_last: keep the weights in channels-last layout, so that every convolution runs in it. Why: on a
            CPU a training step of 34 patches took 0.60 s in it against 0.87-1.03 s (docs/performance.md); the
            numbers are the same up to float rounding, and a checkpoint loads into either layout.
    """

    def __init__(self, backbone: dict, in_channels: Sequence[int] = (24, 40, 112), num_keypoints: int = 4,
                 patch_size: int = 128, heatmap_size: int = 32, channels: int = 64, unc_weight: float = 1.0,
                 codec: str = 'integral', simcc_split: int = 2, simcc_sigma: float = 6.0, simcc_hidden: int = 256,
                 offset_sigma: float = 1.5, offset_radius: float = 2.0, heatmap_reg: float = 0.0,
                 heatmap_reg_sigma: float = 1.0, channels_last: bool = False,
                 data_preprocessor: Optional[dict] = None, init_cfg: Optional[dict] = None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if codec not in ('integral', 'simcc', 'offset'):
            raise SpineKeyError(f"the refiner's codec must be 'integral', 'simcc' or 'offset', got {codec!r} "
                                '(model.codec)')
        if heatmap_reg < 0:
            raise SpineKeyError(f'the heatmap regulariser\'s weight (model.heatmap_reg) must be 0 (off) or more, '
                                f'got {heatmap_reg}')
        if heatmap_reg and codec != 'integral':
            raise SpineKeyError("the heatmap regulariser (model.heatmap_reg) needs the 'integral' codec, "
                                f'got {codec!r}')
        self.heatmap_reg, self.heatmap_reg_sigma = heatmap_reg, heatmap_reg_sigma
        self.backbone = MODELS.build(backbone)
        self.num_keypoints = num_keypoints
        self.lateral = nn.ModuleList(nn.Conv2d(c, channels, 1) for c in in_channels)
        self.fuse = nn.Sequential(_conv_bn_relu(channels, channels), _conv_bn_relu(channels, channels))
        self.heatmap = nn.Conv2d(channels, num_keypoints, 1)
        self.unc_weight = unc_weight
        self.codec_name = codec
        if codec == 'integral':
            self.codec = IntegralCodec(patch_size, heatmap_size)
            self.scale_map = nn.Conv2d(channels, 2 * num_keypoints, 1)
        elif codec == 'offset':
            self.codec = HeatmapOffsetCodec(patch_size, heatmap_size, offset_sigma, offset_radius)
            self.offset_map = nn.Conv2d(channels, 2 * num_keypoints, 1)
            self.scale_map = nn.Conv2d(channels, 2 * num_keypoints, 1)
            nn.init.constant_(self.heatmap.bias, -4.0)  # background from the start: the BCE is not swamped by it
        else:
            self.codec = SimCCCodec(patch_size, simcc_split, simcc_sigma)
            self.simcc_hidden = nn.Sequential(nn.Linear(heatmap_size * heatmap_size, simcc_hidden),
                                              nn.LayerNorm(simcc_hidden), nn.ReLU(inplace=True))
            self.simcc_x = nn.Linear(simcc_hidden, self.codec.bins)
            self.simcc_y = nn.Linear(simcc_hidden, self.codec.bins)
            self.simcc_scale = nn.Linear(simcc_hidden, 2)
        if channels_last:
            self.to(memory_format=torch.channels_last)

    def _features(self, patches: torch.Tensor) -> torch.Tensor:
        x = (patches.float() - 127.0) / 128.0  # EfficientNet-Lite's input range
        feats = self.backbone(x.expand(-1, 3, -1, -1))
        size = feats[0].shape[-2:]
        fused = sum(F.interpolate(lat(f), size=size, mode='bilinear', align_corners=False) if i else lat(f)
                    for i, (lat, f) in enumerate(zip(self.lateral, feats)))
        return self.fuse(fused)

    def forward_tensors(self, patches: torch.Tensor):
        """(logits, keypoints (N, K, 2), scores (N, K), log Laplace scale (N, K, 2)), patch pixels; logits are the
        heatmaps (N, K, H, W), with SimCC the pair (x, y) of (N, K, bins), with the offset codec the pair
        (heatmaps, offsets (N, K, 2, H, W) in cells)."""
        feats = self._features(patches)
        logits = self.heatmap(feats)
        if self.codec_name == 'simcc':
            hidden = self.simcc_hidden(logits.flatten(2))
            x_logits, y_logits = self.simcc_x(hidden), self.simcc_y(hidden)
            keypoints, scores = self.codec.decode(x_logits, y_logits)
            return (x_logits, y_logits), keypoints, scores, self.simcc_scale(hidden)
        n, k, h, w = logits.shape
        if self.codec_name == 'offset':
            offsets = self.offset_map(feats).reshape(n, k, 2, h, w)
            keypoints, scores = self.codec.decode(logits, offsets)
            scale_maps = self.scale_map(feats).reshape(n, k, 2, h, w)
            log_scale = self.codec.at_cells(scale_maps, self.codec.peak_index(logits))
            return (logits, offsets), keypoints, scores, log_scale
        keypoints, scores = self.codec.decode(logits)
        attention = torch.softmax(logits.reshape(n, k, h * w), -1)
        scale_maps = self.scale_map(feats).reshape(n, k, 2, h * w)
        log_scale = (scale_maps * attention[:, :, None]).sum(-1)
        return logits, keypoints, scores, log_scale

    @staticmethod
    def _stack(inputs: Union[torch.Tensor, List[torch.Tensor]]) -> torch.Tensor:
        return torch.cat(list(inputs), 0) if isinstance(inputs, (list, tuple)) else inputs

    def _targets(self, data_samples):
        """(keypoints, visible) stacked over films: mmengine's pseudo_collate gives a dict of lists, a list of
        per-film dicts works too."""
        if isinstance(data_samples, dict):
            return self._stack(data_samples['keypoints']), self._stack(data_samples['visible'])
        return (self._stack([d['keypoints'] for d in data_samples]),
                self._stack([d['visible'] for d in data_samples]))

    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        patches = self._stack(inputs)
        if mode == 'loss':
            target, visible = self._targets(data_samples)
            target, visible = target.to(patches.device), visible.to(patches.device).bool()
            logits, keypoints, _, log_scale = self.forward_tensors(patches)
            if self.codec_name == 'simcc':
                return simcc_losses(*logits, keypoints, log_scale, target, visible, self.codec, self.unc_weight)
            if self.codec_name == 'offset':
                return offset_losses(*logits, keypoints, log_scale, target, visible, self.codec, self.unc_weight)
            losses = refiner_losses(keypoints, log_scale, target, visible, self.unc_weight)
            if self.heatmap_reg:
                losses['loss_heatmap'] = self.heatmap_reg * heatmap_js_divergence(
                    logits, target, visible, self.codec, self.heatmap_reg_sigma)
            return losses
        if mode == 'predict':
            return [self.predict_patches(patches)]
        return self.forward_tensors(patches)

    @torch.no_grad()
    def predict_patches(self, patches: torch.Tensor) -> Dict[str, torch.Tensor]:
        """keypoints (N, K, 2), scores (N, K), sd (N, K, 2): all in patch pixels."""
        _, keypoints, scores, log_scale = self.forward_tensors(patches)
        return {'keypoints': keypoints, 'scores': scores, 'sd': LAPLACE_SD * torch.exp(log_scale)}
