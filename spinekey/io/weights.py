"""Pretrained backbone weights: download from ModelScope (kyan007/spinekey) into checkpoints/ and verify.

Verification = the file exists, loads with the safe loader, and its tensors are exactly the backbone's
(names and shapes), so a wrong or truncated download fails here and not halfway into a training run.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from typing import Dict, Optional

from spinekey.io.checkpoint import load_checkpoint_file
from spinekey.utils.errors import SpineKeyError

MODELSCOPE_REPO = 'kyan007/spinekey'
# file in the ModelScope repo -> the mmdet backbone it initialises (the configs name these files)
BACKBONES: Dict[str, dict] = {
    'resnext101_64x4d.pth': dict(type='ResNeXt', depth=101, groups=64, base_width=4, num_stages=4,
                                 out_indices=(0, 1, 2, 3)),
    'resnet50.pth': dict(type='ResNet', depth=50, num_stages=4, out_indices=(0, 1, 2, 3)),
}
MANUAL = ('download {file} from https://modelscope.cn/models/{repo} (Files tab) on a machine with internet '
          'access and copy it to {dest}, then run: python tools/download_weights.py --verify-only --file {file}')


def download(file: str, dest_dir: str = 'checkpoints', repo: str = MODELSCOPE_REPO,
             endpoint: Optional[str] = None) -> str:
    """Fetch ``file`` of ``repo`` into ``dest_dir`` (atomically: a temp folder, then a rename)."""
    try:
        from modelscope.hub.file_download import model_file_download
    except ImportError:
        raise SpineKeyError('modelscope is not installed (pip install modelscope); or ' +
                            MANUAL.format(file=file, repo=repo, dest=os.path.join(dest_dir, file))) from None
    os.makedirs(dest_dir, exist_ok=True)
    dest = os.path.join(dest_dir, file)
    with tempfile.TemporaryDirectory(dir=dest_dir, prefix='.download-') as tmp:
        try:
            path = model_file_download(repo, file, local_dir=tmp, endpoint=endpoint)
        except Exception as err:  # modelscope raises its own hierarchy for network/HTTP/404 problems
            reason = str(err).strip().splitlines()[0][:160] if str(err).strip() else type(err).__name__
            raise SpineKeyError(f'{repo}/{file}: download failed ({type(err).__name__}: {reason}); '
                                + MANUAL.format(file=file, repo=repo, dest=dest)) from None
        shutil.move(path, dest + '.part')
        os.replace(dest + '.part', dest)
    return dest


def verify_backbone(path: str, backbone: dict) -> int:
    """Number of tensors checked; raises SpineKeyError naming missing, unexpected or mis-shaped keys."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    ckpt = load_checkpoint_file(path)
    state = ckpt.get('state_dict', ckpt)
    state = {k[len('backbone.'):] if k.startswith('backbone.') else k: v for k, v in state.items()
             if hasattr(v, 'shape')}
    register_all_modules()
    own = MODELS.build(backbone).state_dict()
    missing = [k for k in own if k not in state and not k.endswith('num_batches_tracked')]
    unexpected = [k for k in state if k not in own and not k.startswith('fc.')]  # ImageNet classifier is fine
    shapes = [k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or shapes:
        raise SpineKeyError(f'{path}: not a {backbone["type"]}-{backbone.get("depth")} backbone: '
                            f'{len(missing)} missing (e.g. {missing[:3]}), {len(unexpected)} unexpected '
                            f'(e.g. {unexpected[:3]}), {len(shapes)} of another shape (e.g. {shapes[:3]})')
    return len([k for k in own if k in state])
