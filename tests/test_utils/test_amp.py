"""SpineKeyAmpOptimWrapper: mmengine's AMP wrapper without the torch.cuda.amp.GradScaler FutureWarning."""
import warnings

import pytest
import torch
from mmengine.optim.optimizer import amp_optimizer_wrapper

from spinekey.utils.amp import SpineKeyAmpOptimWrapper


def _build(cls, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        wrapper = cls(optimizer=torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=0.1), **kwargs)
    return wrapper, [w for w in caught if issubclass(w.category, FutureWarning)]


@pytest.fixture
def pretend_cuda(monkeypatch):
    """The wrappers refuse to build without CUDA; the scaler itself disables itself on a CPU build."""
    monkeypatch.setattr(amp_optimizer_wrapper, 'is_cuda_available', lambda: True)


def test_mmengine_wrapper_warns_and_ours_does_not(pretend_cuda):
    _, theirs = _build(amp_optimizer_wrapper.AmpOptimWrapper)
    assert any('GradScaler' in str(w.message) for w in theirs)  # what this wrapper exists to avoid
    ours, warned = _build(SpineKeyAmpOptimWrapper)
    assert warned == []
    assert type(ours.loss_scaler) is torch.amp.GradScaler and ours.loss_scaler._device == 'cuda'
    assert amp_optimizer_wrapper.GradScaler is torch.cuda.amp.GradScaler  # mmengine's name put back


def test_loss_scale_arguments_reach_the_scaler(pretend_cuda, monkeypatch):
    """mmengine passes loss_scale as init_scale or as keyword arguments; they arrive after the device type."""
    calls = []

    class Recorder(torch.amp.GradScaler):
        def __init__(self, *args, **kwargs):
            calls.append((args, kwargs))
            super().__init__(*args, **kwargs)
    monkeypatch.setattr(torch.amp, 'GradScaler', Recorder)
    static, _ = _build(SpineKeyAmpOptimWrapper, loss_scale=512.0)
    custom, _ = _build(SpineKeyAmpOptimWrapper, loss_scale=dict(init_scale=64.0, growth_interval=7))
    assert calls == [(('cuda',), {'init_scale': 512.0}), (('cuda',), {'init_scale': 64.0, 'growth_interval': 7})]
    assert static._scale_update_param == 512.0 and isinstance(custom.loss_scaler, Recorder)


def test_built_by_name_from_a_config_in_mmdet_scope(pretend_cuda):
    """tools/train.py --amp writes type='SpineKeyAmpOptimWrapper' (tests/test_utils/test_training.py); mmengine
    must find it from mmdet's scope, where SpineKey configs run."""
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmdet'):
        wrapper = build_optim_wrapper(torch.nn.Linear(2, 2), dict(type='SpineKeyAmpOptimWrapper',
                                                                  optimizer=dict(type='SGD', lr=0.1)))
    assert type(wrapper) is SpineKeyAmpOptimWrapper and type(wrapper.loss_scaler) is torch.amp.GradScaler
