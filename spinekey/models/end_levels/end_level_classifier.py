"""The end-level classifier: which level a detection at an end of the column is (C7 or above, T1, T2, T3 or
below at the top; L3 or above, L4, L5, a sacral segment at the bottom), from a wide patch of the film around it.

In: patches (N, 1, S, S), grayscale 0-255, cut by spinekey.datasets.patch_geometry around a vertebra's corners
with a context of about 4 vertebra sizes. Out (``predict``): probabilities (N, 8) over
spinekey.structures.levels.END_LEVEL_CLASSES. Network: ImageNet EfficientNet-Lite0 to stride 32, global average
pooling, dropout, one linear layer; cross-entropy loss. Why an image model: the geometry of the detections
(sizes, spacing, tilt, place on the film) does not tell a column that starts at C7 or ends at S1 from a true
T1-L5 one; the ribs, the clavicles, the iliac crests and the sacrum do (docs/aasce.md).
"""
from __future__ import annotations

from typing import List, Optional, Union

import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmengine.model import BaseModel
from torch import nn

from spinekey.structures.levels import END_LEVEL_CLASSES


@MODELS.register_module()
class EndLevelClassifier(BaseModel):
    """Args: backbone (returning one map, e.g. EfficientNetLite with out_indices (3,)), in_channels (its
    channels), dropout before the linear layer, label_smoothing of the cross-entropy."""

    def __init__(self, backbone: dict, in_channels: int = 320, dropout: float = 0.2, label_smoothing: float = 0.05,
                 data_preprocessor: Optional[dict] = None, init_cfg: Optional[dict] = None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(in_channels, len(END_LEVEL_CLASSES))
        self.label_smoothing = label_smoothing

    def logits(self, patches: torch.Tensor) -> torch.Tensor:
        x = patches.float()
        mean, sd = x.mean((1, 2, 3), keepdim=True), x.std((1, 2, 3), keepdim=True)
        x = (x - mean) / sd.clamp(min=1.0)  # per patch: films differ in exposure far more than anatomy does
        feats = self.backbone(x.expand(-1, 3, -1, -1))[-1]
        return self.classifier(self.dropout(feats.mean((2, 3))))

    @staticmethod
    def _stack(inputs: Union[torch.Tensor, List[torch.Tensor]]) -> torch.Tensor:
        return torch.cat(list(inputs), 0) if isinstance(inputs, (list, tuple)) else inputs

    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        patches = self._stack(inputs)
        if mode == 'loss':
            labels = data_samples['labels'] if isinstance(data_samples, dict) else [d['labels'] for d in data_samples]
            labels = self._stack(labels).to(patches.device)
            return {'loss_cls': F.cross_entropy(self.logits(patches), labels, label_smoothing=self.label_smoothing)}
        if mode == 'predict':
            return [self.predict_patches(patches)]
        return self.logits(patches)

    @torch.no_grad()
    def predict_patches(self, patches: torch.Tensor) -> torch.Tensor:
        """Probabilities (N, 8) over END_LEVEL_CLASSES."""
        return torch.softmax(self.logits(patches), -1)
