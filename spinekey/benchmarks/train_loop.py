"""Images/s of a real training loop: mmengine's Runner with the config's own data loader, workers and hooks.

Why: ``model_cost.train_step_time`` times the model on one fixed batch; a user's training also waits for
the loader and syncs with the host. This runs ``warmup + iters`` iterations of the config as tools/train.py
would (loader workers scaled the same way), without validation or checkpoints, and reports the steady part:
images/s, seconds per step, the share of a step spent waiting for data (mmengine's ``data_time``) and, on
a GPU, how busy the GPU was (``gpu_busy.GpuBusySampler``).
"""
from __future__ import annotations

import time
from contextlib import nullcontext
from typing import Dict, List, Optional

from mmengine.hooks import Hook


class StepClock(Hook):
    """Wall-clock time at the end of every training iteration (after the optimizer step)."""

    priority = 'LOWEST'

    def __init__(self):
        self.times: List[float] = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self.times.append(time.perf_counter())


def loop_config(config: str, data_root: str, ann_file: str, iters: int, batch_size: Optional[int],
                work_dir: str):
    """The config trimmed to a timing run: iteration-based, no validation, checkpoints or lr schedule."""
    from spinekey.utils.cli import load_config
    cfg = load_config(config)
    cfg.train_dataloader.dataset.update(data_root=data_root, ann_file=ann_file, data_prefix=dict(img=''))
    if batch_size:
        cfg.train_dataloader.batch_size = batch_size
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters, val_interval=iters + 1)
    for key in ('val_dataloader', 'val_evaluator', 'val_cfg', 'test_dataloader', 'test_evaluator', 'test_cfg'):
        cfg[key] = None
    cfg.param_scheduler = []
    cfg.default_hooks.update(checkpoint=None, logger=dict(type='LoggerHook', interval=10 ** 6))
    cfg.default_hooks.pop('visualization', None)  # mmengine accepts None only for its own default hooks
    cfg.work_dir = work_dir
    return cfg


def loop_runner(config: str, data_root: str, ann_file: str, iters: int, batch_size: Optional[int] = None,
                amp: bool = False, workers: Optional[int] = None, work_dir: str = 'work_dirs/benchmark/train_loop'):
    """mmengine's Runner for ``iters`` iterations of ``config`` (``loop_config``), prepared as tools/train.py
    prepares a training (AMP, loader workers)."""
    from mmengine.runner import Runner

    from spinekey.apis.training import prepare_training_config
    cfg = loop_config(config, data_root, ann_file, iters, batch_size, work_dir)
    prepare_training_config(cfg, amp=amp, workers=workers)
    return Runner.from_cfg(cfg)


def train_loop_throughput(config: str, data_root: str, ann_file: str, iters: int = 20, warmup: int = 5,
                          batch_size: Optional[int] = None, amp: bool = False, workers: Optional[int] = None,
                          work_dir: str = 'work_dirs/benchmark/train_loop') -> Dict:
    """Steady-state numbers of ``iters`` iterations after ``warmup`` (start-up, cudnn autotuning, first
    batches of the workers) of training ``config`` on ``data_root``/``ann_file``."""
    import torch

    from spinekey.benchmarks.gpu_busy import GpuBusySampler
    if iters < 2 or warmup < 1:
        raise ValueError('train_loop_throughput needs iters >= 2 and warmup >= 1')
    runner = loop_runner(config, data_root, ann_file, warmup + iters, batch_size, amp, workers, work_dir)
    cfg = runner.cfg
    clock = StepClock()
    runner.register_hook(clock)
    cuda = torch.cuda.is_available()
    with (GpuBusySampler() if cuda else nullcontext()) as busy:
        runner.train()
    steady = clock.times[warmup - 1:]  # the end of the last warm-up step starts the steady part
    seconds = steady[-1] - steady[0]
    steps = len(steady) - 1
    data_time = runner.message_hub.get_scalar('train/data_time').data[0][warmup:]
    batch = cfg.train_dataloader.batch_size
    return {'config': config, 'device': torch.cuda.get_device_name(0) if cuda else 'cpu', 'amp': amp,
            'batch_size': batch, 'workers': cfg.train_dataloader.num_workers, 'steps': steps,
            'images_per_s': round(batch * steps / seconds, 3), 'step_s': round(seconds / steps, 4),
            'data_wait_s': round(float(data_time.mean()), 4),
            'data_wait_share': round(float(data_time.sum()) / seconds, 3),
            'gpu_busy_percent': busy.mean(steady[0], steady[-1]) if cuda and busy.available else None}
