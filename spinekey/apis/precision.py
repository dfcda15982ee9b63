"""Half-precision inference that keeps coordinates exact: fp16 for the backbone and neck only.

Why not autocast the whole model: fp16 has a step of 1 px between 1024 and 2048 and 2 px above, so a box
or keypoint decoded in fp16 on a full-size film can move by a pixel or two, more than the speed-up is worth
(issue 21's limit: keypoint EPE within 0.1 px of fp32). The backbone and neck hold nearly all the
arithmetic; the RoI heads see a few dozen boxes. So only ``extract_feat`` runs under autocast, and its
features return to float32 before the RPN, box, mask and keypoint heads decode anything.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch

from spinekey.utils.errors import SpineKeyError


def half_dtype(device_type: str) -> torch.dtype:
    """fp16 on CUDA (tensor cores); bfloat16 on CPU, where autocast has no fp16 kernels for convolutions."""
    return torch.float16 if device_type == 'cuda' else torch.bfloat16


def check_half_device(device: str) -> None:
    """One line instead of a slower run: half precision pays on a GPU only."""
    if not str(device).startswith('cuda'):
        raise SpineKeyError(f'--fp16 needs a GPU (--device cuda:N); on {device} half precision is slower, '
                            'not faster')


@contextmanager
def half_precision_features(model, enabled: bool = True) -> Iterator[None]:
    """Inside the block, ``model.extract_feat`` runs under autocast and hands float32 features on."""
    if not enabled:
        yield
        return
    device_type = next(model.parameters()).device.type
    original = model.extract_feat

    def extract_feat(batch_inputs):
        with torch.autocast(device_type, dtype=half_dtype(device_type)):
            features = original(batch_inputs)
        return tuple(f.float() for f in features)

    model.extract_feat = extract_feat
    try:
        yield
    finally:
        del model.extract_feat  # the class's method again
