"""Mixed-precision training without the deprecation warning mmengine's wrapper triggers on every run.

mmengine 0.10.7's ``AmpOptimWrapper`` builds ``torch.cuda.amp.GradScaler``, deprecated since torch 2.4 (a
FutureWarning in every ``train.sh --amp`` log). ``SpineKeyAmpOptimWrapper`` is the same wrapper built with
``torch.amp.GradScaler('cuda')``, its non-deprecated twin (same arguments, same state dict);
``tools/train.py --amp`` selects it.
"""
from __future__ import annotations

import contextlib

import torch
from mmengine.optim import AmpOptimWrapper
from mmengine.optim.optimizer import amp_optimizer_wrapper
from mmengine.registry import OPTIM_WRAPPERS


@contextlib.contextmanager
def _scaler_class(cls):
    """Let mmengine's constructor build ``cls`` where it names its module-level ``GradScaler``."""
    original = amp_optimizer_wrapper.GradScaler
    amp_optimizer_wrapper.GradScaler = cls
    try:
        yield
    finally:
        amp_optimizer_wrapper.GradScaler = original


def device_grad_scaler(device_type: str = 'cuda'):
    """``torch.amp.GradScaler`` bound to ``device_type``, constructed the way mmengine constructs its scaler."""
    def build(*args, **kwargs):
        return torch.amp.GradScaler(device_type, *args, **kwargs)
    return build


@OPTIM_WRAPPERS.register_module()
class SpineKeyAmpOptimWrapper(AmpOptimWrapper):
    """mmengine's AmpOptimWrapper with the non-deprecated ``torch.amp.GradScaler`` (no FutureWarning)."""

    def __init__(self, *args, **kwargs):
        with _scaler_class(device_grad_scaler('cuda')):
            super().__init__(*args, **kwargs)
