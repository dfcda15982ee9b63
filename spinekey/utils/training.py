"""Config preparation before training: K and classes from the data, AMP, lr scaling, resume."""
from __future__ import annotations

import os.path as osp
from typing import Optional

from spinekey.io.coco_files import read_json
from spinekey.utils.errors import SpineKeyError


def read_categories(ann_file: str) -> list:
    """The ``categories`` of a COCO file, with a one-line error when it is missing or malformed."""
    coco = read_json(ann_file, 'annotation file')
    if not isinstance(coco, dict) or not isinstance(coco.get('categories'), list):
        raise SpineKeyError(f'{ann_file}: malformed COCO file (no "categories" list)')
    return coco['categories']


def fit_heads(model_cfg, num_keypoints: Optional[int], num_classes: Optional[int]) -> None:
    """Set the keypoint head's K (0 drops the keypoint branch) and the box/mask heads' class count.

    ``None`` leaves that part as configured.
    """
    roi_head = model_cfg.get('roi_head', {})
    if num_keypoints is not None and 'keypoint_head' in roi_head:
        if num_keypoints == 0:
            roi_head.pop('keypoint_head')
            roi_head.pop('keypoint_roi_extractor', None)
        else:
            roi_head.keypoint_head.num_keypoints = num_keypoints
    if num_classes:
        heads = roi_head.get('bbox_head', [])
        for head in heads if isinstance(heads, list) else [heads]:
            head.num_classes = num_classes
        if roi_head.get('mask_head') is not None:
            roi_head.mask_head.num_classes = num_classes


def sync_model_with_dataset(cfg) -> None:
    """Set the keypoint head's K and the class count from the training annotations.

    Why: K lives in the dataset's category; a config written for 4 corners must train a 6-point set
    without editing three places. A dataset without keypoints drops the keypoint branch.
    """
    ds = cfg.train_dataloader.dataset
    ann_file = osp.join(ds.get('data_root', '') or '', ds.ann_file)
    cats = read_categories(ann_file)
    names = {tuple(c.get('keypoints') or ()) for c in cats}
    if len(names) > 1:
        raise SpineKeyError(f'{ann_file}: categories declare different keypoint lists')
    classes = tuple(c['name'] for c in sorted(cats, key=lambda c: c['id']))
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if key in cfg and cfg[key] is not None:
            cfg[key].dataset.metainfo = dict(classes=classes)
    k = len(next(iter(names))) if names else 0
    fit_heads(cfg.model, k, len(classes))
    checkpoint_hook = cfg.get('default_hooks', {}).get('checkpoint', {})
    if k == 0 and 'PCK' in str(checkpoint_hook.get('save_best', '')):
        checkpoint_hook['save_best'] = 'spine/bbox_AP50'  # no keypoints to rank checkpoints by
        print(f'notice: {ann_file} has no keypoints: training a detector for {len(classes)} class(es) '
              f'{list(classes)}; best checkpoint by spine/bbox_AP50')


def drop_missing_pretrained(cfg) -> None:
    """Train the backbone from scratch, with a notice, when its local pretrained file is absent."""
    init = cfg.model.get('backbone', {}).get('init_cfg')
    if init and init.get('type') == 'Pretrained':
        path = init.get('checkpoint', '')
        if '://' not in path and not osp.isfile(path):
            print(f'notice: backbone weights {path} not found (tools/download_weights.py fetches them); '
                  'training the backbone from scratch')
            # a random stem must not stay frozen, nor BN statistics fixed at their initial values
            cfg.model.backbone.update(init_cfg=None, frozen_stages=-1, norm_eval=False)


def init_cpu_distributed(cfg) -> None:
    """Start a gloo process group and a CPU DDP wrapper for torchrun without CUDA.

    mmengine's pytorch launcher calls ``torch.cuda.set_device`` (absent from CPU builds) and wraps the
    model with ``device_ids=[LOCAL_RANK]`` (invalid for CPU modules); both are side-stepped here, and
    mmengine skips its own initialisation once a process group exists.
    """
    import torch
    import torch.distributed as dist
    if torch.cuda.is_available() or dist.is_initialized():
        return
    dist.init_process_group(backend='gloo')
    cfg.model_wrapper_cfg = dict(type='MMDistributedDataParallel', device_ids=None, broadcast_buffers=False,
                                 find_unused_parameters=cfg.get('find_unused_parameters', False))


def prepare_training_config(cfg, amp: bool = False, auto_scale_lr: bool = False, resume=None) -> None:
    """Apply the command-line switches of tools/train.py to ``cfg`` (in place)."""
    sync_model_with_dataset(cfg)
    drop_missing_pretrained(cfg)
    if amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'
    if auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            raise SpineKeyError('--auto-scale-lr needs auto_scale_lr.base_batch_size in the config')
        cfg.auto_scale_lr.enable = True
    if resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif resume is not None:
        if not osp.isfile(resume):
            raise SpineKeyError(f'{resume}: checkpoint to resume from not found')
        cfg.resume = True
        cfg.load_from = resume
