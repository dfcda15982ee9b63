"""Where a training step's time goes: torch.profiler over steady steps of the real loop, split by part.

Why: ``train_loop`` says how fast a config trains; on a GPU that left most of the device idle and the
question is which host-side work holds it back. This runs the config's real loop (``train_loop.loop_config``:
mmengine's Runner, the config's loader and workers), profiles ``iters`` steps after ``warmup`` and puts
every part of a step inside a profiler label: the wait for the loader, preprocessing, backbone, neck, RPN
(head, targets, proposals), the RoI heads' assignment and sampling, their box / mask / keypoint stages and
the targets built inside them, backward and the optimizer step. It reports each part's wall time per step
and its share, the ops that cost most, and how often a step reads a scalar back or calls ``nonzero`` (each
is a host-device sync on a GPU), and writes a Chrome trace (chrome://tracing, Perfetto) for a closer look.

Times are host wall-clock: on a GPU a part's time is its Python and launch work plus any wait at a sync,
which is what keeps a GPU idle; the device's own kernel time per step is given alongside.
"""
from __future__ import annotations

import functools
import os
import time
from typing import Dict, List, Optional, Tuple

from mmengine.hooks import Hook

from spinekey.benchmarks.model_cost import _sync

LOADER_LABEL = 'enumerate(DataLoader)'  # torch's own label on every DataLoader __next__

# (label, parent label or None, attribute path from the detector, method): the parts of a training step.
# A path ending in '[]' names a list (one object per cascade stage); each element's method is labelled.
MODEL_PARTS: Tuple[Tuple[str, Optional[str], str, str], ...] = (
    ('data preprocessor', None, 'data_preprocessor', 'forward'),
    ('backbone', None, 'backbone', 'forward'),
    ('neck', None, 'neck', 'forward'),
    ('rpn: head, targets, proposals', None, 'rpn_head', 'loss_and_predict'),
    ('roi: assign', None, 'roi_head.bbox_assigner[]', 'assign'),
    ('roi: sample', None, 'roi_head.bbox_sampler[]', 'sample'),
    ('roi: box stages', None, 'roi_head', 'bbox_loss'),
    ('roi: box targets', 'roi: box stages', 'roi_head.bbox_head[]', 'get_targets'),
    ('roi: mask stages', None, 'roi_head', 'mask_loss'),
    ('roi: mask targets', 'roi: mask stages', 'roi_head.mask_head[]', 'get_targets'),
    ('roi: keypoints', None, 'roi_head', 'keypoint_loss'),
)
OPTIM_PARTS = (('backward', 'backward'), ('optimizer step', 'step'))
SYNC_OPS = {'aten::_local_scalar_dense': 'scalar_reads', 'aten::nonzero': 'nonzero_calls'}


def label_method(obj, method: str, label: str) -> bool:
    """Run ``obj.method`` inside a profiler label from now on (an instance attribute shadowing the class's
    method). False when ``obj`` has no such method or it is labelled already."""
    from torch.autograd.profiler import record_function
    original = getattr(obj, method, None)
    if original is None or getattr(original, '_spinekey_label', None):
        return False

    @functools.wraps(original)
    def labelled(*args, **kwargs):
        with record_function(label):
            return original(*args, **kwargs)

    labelled._spinekey_label = label
    setattr(obj, method, labelled)
    return True


def _objects(root, path: str) -> List:
    """The objects an attribute path names; 'a.b[]' expands the list ``a.b``; missing parts give []."""
    listed = path.endswith('[]')
    obj = root
    for name in path.rstrip('[]').split('.'):
        obj = getattr(obj, name, None)
        if obj is None:
            return []
    return list(obj) if listed else [obj]


def label_step_parts(model, optim_wrapper) -> List[Tuple[str, Optional[str]]]:
    """Label every part of ``MODEL_PARTS`` the model has, and backward/step; returns (label, parent) of each."""
    model = getattr(model, 'module', model)  # DDP
    found = []
    for label, parent, path, method in MODEL_PARTS:
        if sum(label_method(obj, method, label) for obj in _objects(model, path)):
            found.append((label, parent))
    for label, method in OPTIM_PARTS:
        if label_method(optim_wrapper, method, label):
            found.append((label, None))
    return found


class StepProfiler(Hook):
    """Profiles the iterations after the first ``warmup``: from the end of the last warm-up step (so the
    first profiled step's wait for data is inside) to the end of step ``warmup + iters``."""

    priority = 'LOWEST'

    def __init__(self, warmup: int, iters: int, activities):
        self.warmup, self.iters, self.activities = warmup, iters, activities
        self.profiler = None
        self.parts: List[Tuple[str, Optional[str]]] = []
        self.seconds = 0.0

    def before_train(self, runner) -> None:
        self.parts = [('loader wait', None)] + label_step_parts(runner.model, runner.optim_wrapper)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        import torch
        done = runner.iter + 1  # mmengine increments runner.iter after this hook
        if done == self.warmup:
            _sync()
            self.profiler = torch.profiler.profile(activities=self.activities)
            self.profiler.__enter__()
            self._start = time.perf_counter()
        elif done == self.warmup + self.iters and self.profiler is not None:
            _sync()
            self.seconds = time.perf_counter() - self._start
            self.profiler.__exit__(None, None, None)


def _enclosing_part(event, labels) -> str:
    """The innermost labelled part an op ran in ('other' when none)."""
    parent = event.cpu_parent
    while parent is not None:
        if parent.name in labels or parent.name.startswith(LOADER_LABEL):
            return 'loader wait' if parent.name.startswith(LOADER_LABEL) else parent.name
        parent = parent.cpu_parent
    return 'other'


def summarise(events, parts: List[Tuple[str, Optional[str]]], steps: int, seconds: float,
              top: int = 10) -> Dict:
    """The profile (``profiler.events()``) as numbers: per part its wall time per step, share of the step and
    syncing ops per step; the top ops by their own host time; the device's kernel time per step (0 on CPU)."""
    step_s = seconds / steps
    averages = events.key_averages()
    by_name = {e.key: e for e in averages}
    labels = {label for label, _ in parts}
    syncs: Dict[str, Dict[str, int]] = {}
    for event in events:
        if event.name in SYNC_OPS:
            counts = syncs.setdefault(_enclosing_part(event, labels), {})
            counts[SYNC_OPS[event.name]] = counts.get(SYNC_OPS[event.name], 0) + 1

    def wall_s(label: str) -> float:
        if label == 'loader wait':
            us = sum(e.cpu_time_total for e in averages if e.key.startswith(LOADER_LABEL))
        else:
            us = by_name[label].cpu_time_total if label in by_name else 0.0
        return us / 1e6 / steps

    def row(label: str, parent: Optional[str], seconds_per_step: float) -> Dict:
        counts = syncs.get(label, {})
        return {'part': label, 'within': parent, 's_per_step': round(seconds_per_step, 5),
                'share': round(seconds_per_step / step_s, 3),
                **{name: round(counts.get(name, 0) / steps, 1) for name in SYNC_OPS.values()}}

    rows = [row(label, parent, wall_s(label)) for label, parent in parts]
    rest = max(step_s - sum(r['s_per_step'] for r in rows if r['within'] is None), 0.0)
    rows.append(row('other', None, rest))
    ops = sorted((e for e in averages if e.key.startswith(('aten::', 'cudnn', 'mkldnn'))),
                 key=lambda e: e.self_cpu_time_total, reverse=True)[:top]
    device_us = sum(getattr(e, 'self_device_time_total', 0) or 0 for e in averages)
    totals = {name: round(sum(c.get(name, 0) for c in syncs.values()) / steps, 1) for name in SYNC_OPS.values()}
    return {'steps': steps, 'step_s': round(step_s, 4), 'parts': rows,
            'top_ops': [{'op': e.key, 'self_s_per_step': round(e.self_cpu_time_total / 1e6 / steps, 5),
                         'calls_per_step': round(e.count / steps, 1)} for e in ops],
            'device_kernel_s_per_step': round(device_us / 1e6 / steps, 5), **totals}


def profile_training_step(config: str, data_root: str, ann_file: str, iters: int = 10, warmup: int = 5,
                          batch_size: Optional[int] = None, amp: bool = False, workers: Optional[int] = None,
                          work_dir: str = 'work_dirs/benchmark/step_profile') -> Dict:
    """Profile ``iters`` steady steps of training ``config`` (see the module docstring); the Chrome trace
    goes to ``work_dir/step_profile_trace.json``."""
    import torch

    from spinekey.benchmarks.train_loop import loop_runner
    if iters < 1 or warmup < 1:
        raise ValueError('profile_training_step needs iters >= 1 and warmup >= 1')
    runner = loop_runner(config, data_root, ann_file, warmup + iters, batch_size, amp, workers, work_dir)
    cfg = runner.cfg
    activities = [torch.profiler.ProfilerActivity.CPU]
    if torch.cuda.is_available():
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    hook = StepProfiler(warmup, iters, activities)
    runner.register_hook(hook)
    runner.train()
    trace = os.path.join(work_dir, 'step_profile_trace.json')
    os.makedirs(work_dir, exist_ok=True)
    hook.profiler.export_chrome_trace(trace + '.part')
    os.replace(trace + '.part', trace)
    out = summarise(hook.profiler.events(), hook.parts, iters, hook.seconds)
    batch = cfg.train_dataloader.batch_size
    out.update(config=config, device=torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu',
               amp=amp, batch_size=batch, workers=cfg.train_dataloader.num_workers,
               images_per_s=round(batch / out['step_s'], 3), trace=trace)
    return out
