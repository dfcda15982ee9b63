"""Config preparation before training: K and classes from the data, AMP, lr scaling, resume, loader workers."""
from __future__ import annotations

import os
import os.path as osp
import re
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
    if 'num_keypoints' in cfg.model and ds.get('levels') is not None:  # the column-ends locator: one per end level
        cfg.model.num_keypoints = len(ds.levels)
        if ds.get('size') != cfg.model.get('patch_size'):
            raise SpineKeyError(f'the column-ends canvas is {ds.get("size")} px (train_dataloader.dataset.size) but '
                                f'the model reads {cfg.model.get("patch_size")} px (model.patch_size): set both')
    elif 'num_keypoints' in cfg.model:  # a keypoint model of its own (the refiner): K from the same category
        if k == 0:
            raise SpineKeyError(f'{ann_file}: no keypoints in its category; {cfg.model.get("type")} needs them')
        cfg.model.num_keypoints = k
    checkpoint_hook = cfg.get('default_hooks', {}).get('checkpoint', {})
    if k == 0 and 'PCK' in str(checkpoint_hook.get('save_best', '')):
        checkpoint_hook['save_best'] = 'spine/bbox_AP50'  # no keypoints to rank checkpoints by
        print(f'notice: {ann_file} has no keypoints: training a detector for {len(classes)} class(es) '
              f'{list(classes)}; best checkpoint by spine/bbox_AP50')


def derive_evaluator_ann_files(cfg) -> None:
    """Point each evaluator's unset ``ann_file`` at its own dataloader's annotation file.

    Why: a user who points ``val_dataloader.dataset`` at their data must not also have to find
    ``val_evaluator.0.ann_file``; an ``ann_file`` they set themselves is kept.
    """
    for split in ('val', 'test'):
        loader, evaluator = cfg.get(f'{split}_dataloader'), cfg.get(f'{split}_evaluator')
        if not loader or not evaluator:
            continue
        ds = loader.dataset
        ann_file = osp.join(ds.get('data_root', '') or '', ds.get('ann_file', '') or '')
        for metric in evaluator if isinstance(evaluator, (list, tuple)) else [evaluator]:
            if 'ann_file' in metric and not metric.get('ann_file'):
                metric['ann_file'] = ann_file
            drop_segm_without_masks(metric)


def drop_segm_without_masks(metric) -> None:
    """No mask AP from a CocoMetric whose GT file has annotations without masks (a keypoint-only COCO file),
    with a notice: COCOeval would stop the run at its first validation, after a whole epoch of training."""
    names = metric.get('metric')
    names = [names] if isinstance(names, str) else list(names or [])
    path = metric.get('ann_file')
    if metric.get('type') != 'CocoMetric' or 'segm' not in names or not path or not osp.isfile(path):
        return
    from spinekey.io.coco_files import annotations_without_mask, read_json
    gt = read_json(path, 'annotation file')
    bare = annotations_without_mask(gt) if isinstance(gt, dict) else 0
    if bare:
        metric['metric'] = [n for n in names if n != 'segm']
        print(f'notice: {path}: {bare} of {len(gt.get("annotations") or [])} annotations have no mask '
              '(segmentation): validated without mask AP (segm)')


def drop_missing_pretrained(cfg) -> None:
    """Train the backbone from scratch, with a notice, when its local pretrained file is absent.

    A backbone that the config itself leaves without weights gets the same notice, so that no config trains
    from scratch without a word.
    """
    backbone = cfg.model.get('backbone', {})
    init = backbone.get('init_cfg')
    if not init and not backbone.get('pretrained'):
        print(f'notice: the config gives the {backbone.get("type", "")} backbone no pretrained weights '
              '(init_cfg=None): training it from scratch')
    if init and init.get('type') == 'Pretrained':
        path = init.get('checkpoint', '')
        if '://' not in path and not osp.isfile(path):
            print(f'notice: backbone weights {path} not found (tools/download_weights.py fetches them); '
                  'training the backbone from scratch')
            # a random stem must not stay frozen, nor BN statistics fixed at their initial values
            cfg.model.backbone.update(init_cfg=None, frozen_stages=-1, norm_eval=False)


MAX_GPU_LOADER_WORKERS = 8


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask: a job scheduler's share, not the whole machine)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def gpu_loader_workers(cpus: int, processes_per_node: int, cap: int = MAX_GPU_LOADER_WORKERS) -> int:
    """Loader workers per training process on a GPU node: the node's CPUs shared among its processes, one
    left for the process itself, at least 1 and at most ``cap`` (beyond 8 the hand-off, not decoding, limits)."""
    return max(1, min(cap, cpus // max(1, processes_per_node) - 1))


def scale_loader_workers(cfg, workers: Optional[int] = None, cuda: Optional[bool] = None,
                         cpus: Optional[int] = None, processes_per_node: Optional[int] = None) -> Optional[int]:
    """Set the training loader's workers; returns the count set, None when the config's is kept.

    Why: on one H100 the reference config's 2 workers left a third of each step waiting for data, 8 brought
    the wait to 0.01 s (issue 21). So on a GPU the count follows the cores (``gpu_loader_workers``, never
    below the config's), with pinned memory and workers kept alive between epochs. On CPU the config's count
    stays: there the workers take cores from the model itself. ``workers`` (``--workers N``) is used as given.
    """
    loader = cfg.get('train_dataloader')
    if not loader:
        return None
    if workers is None:
        if cuda is None:
            import torch
            cuda = torch.cuda.is_available()
        if not cuda:
            return None
        workers = max(loader.get('num_workers', 0), gpu_loader_workers(
            cpus or usable_cpus(), processes_per_node or int(os.environ.get('LOCAL_WORLD_SIZE', 1))))
        loader.pin_memory = True
    if workers < 0:
        raise SpineKeyError(f'--workers {workers}: the number of loader workers cannot be negative')
    loader.num_workers = workers
    loader.persistent_workers = workers > 0  # torch refuses persistent workers without workers
    return workers


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


def _checkpoint_step(name: str):
    """N of mmengine's ``epoch_N.pth`` / ``iter_N.pth``; None for any other file (``best_*.pth`` among them)."""
    match = re.fullmatch(r'(?:epoch|iter)_(\d+)\.pth', name)
    return None if match is None else int(match.group(1))


def newest_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint ``--resume`` (no file) continues from: the newest ``epoch_N``/``iter_N.pth`` in ``work_dir``.

    mmengine's own pick reads ``last_checkpoint``, which its CheckpointHook writes only after the checkpoint
    itself: a run killed between the two would resume an epoch early, or start afresh after its first epoch.
    The checkpoints are written atomically (``spinekey.io.checkpoint``), so the newest file is complete. Within
    one kind the step decides; between kinds (a run that changed ``by_epoch``) the file written last.
    """
    if not osp.isdir(work_dir):
        return None
    found = [(name, _checkpoint_step(name)) for name in os.listdir(work_dir)]
    found = [(name, step) for name, step in found if step is not None]
    if not found:
        return None
    newest_of_kind = {}
    for name, step in found:
        kind = name.split('_')[0]
        if kind not in newest_of_kind or step > newest_of_kind[kind][1]:
            newest_of_kind[kind] = (name, step)
    paths = [osp.join(work_dir, name) for name, _ in newest_of_kind.values()]
    return max(paths, key=osp.getmtime)


def prepare_training_config(cfg, amp: bool = False, auto_scale_lr: bool = False, resume=None,
                            workers: Optional[int] = None, scale_workers: bool = True) -> None:
    """Apply the command-line switches of tools/train.py to ``cfg`` (in place).

    ``workers``: loader workers as given (``--workers``); else, with ``scale_workers``, ``scale_loader_workers``
    picks them on a GPU (False: the user set ``train_dataloader.num_workers`` themselves).
    """
    sync_model_with_dataset(cfg)
    if workers is not None or scale_workers:
        chosen = scale_loader_workers(cfg, workers)
        if chosen is not None and workers is None:
            print(f'notice: {chosen} loader workers per training process on this GPU node, pinned memory '
                  '(--workers N sets another count)')
    derive_evaluator_ann_files(cfg)
    drop_missing_pretrained(cfg)
    if amp:
        cfg.optim_wrapper.type = 'SpineKeyAmpOptimWrapper'  # spinekey.utils.amp: no GradScaler FutureWarning
        cfg.optim_wrapper.loss_scale = 'dynamic'
    if auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            raise SpineKeyError('--auto-scale-lr needs auto_scale_lr.base_batch_size in the config')
        cfg.auto_scale_lr.enable = True
    if resume == 'auto':
        cfg.resume = True
        cfg.load_from = newest_checkpoint(cfg.get('work_dir') or '')  # None: mmengine starts afresh
    elif resume is not None:
        if not osp.isfile(resume):
            raise SpineKeyError(f'{resume}: checkpoint to resume from not found')
        cfg.resume = True
        cfg.load_from = resume


def prepare_test_config(cfg, checkpoint: str, work_dir: str) -> None:
    """Fit ``cfg`` to test ``checkpoint`` with mmengine's Runner (tools/test.py), in place.

    K, classes and keypoint names come from the checkpoint's meta (as ``spinekey.apis.init_model`` does), the
    evaluators' files from the test dataset, and the weights are loaded by the Runner (safe unpickler).
    """
    from spinekey.io.checkpoint import checkpoint_dataset_meta
    if not osp.isfile(checkpoint):
        raise SpineKeyError(f'{checkpoint}: checkpoint not found')
    if not cfg.get('test_dataloader') or not cfg.get('test_evaluator'):
        raise SpineKeyError('the config has no test_dataloader/test_evaluator: set both (see '
                            'configs/_base_/datasets/spine_coco_keypoint.py) to use tools/test.py')
    meta = checkpoint_dataset_meta(checkpoint)
    names = meta.get('keypoint_names')
    classes = tuple(meta.get('classes') or ())
    fit_heads(cfg.model, None if names is None else len(names), len(classes))
    if classes:
        cfg.test_dataloader.dataset.metainfo = dict(classes=classes)
    derive_evaluator_ann_files(cfg)
    cfg.model.get('backbone', {}).update(init_cfg=None)  # the checkpoint holds every weight
    if cfg.model.get('backbone', {}).get('pretrained'):
        cfg.model.backbone.pretrained = False
    cfg.load_from = checkpoint
    cfg.resume = False
    cfg.work_dir = work_dir
