"""The model-cost benchmarks of tools/benchmark.py: keypoint-branch overhead, batching, scaling, GPU,
where a training step's time goes.

Every number comes from a worker process (:mod:`spinekey.benchmarks.worker`); the ratios that have targets
compare two workers of the same run on the same images, weights and thread count.
"""
from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import dataclasses
from dataclasses import dataclass
from typing import List, Optional

from spinekey.benchmarks.model_cost import VARIANTS
from spinekey.utils.errors import SpineKeyError

DEMO_CONFIG = 'configs/spinekey/spinekey_demo_cpu.py'
REFERENCE_CONFIG = 'configs/spinekey/spinekey_cascade-mask-rcnn_r50_fpn_24e.py'  # issue 21's GPU yardstick
OVERHEAD_TARGET = 1.15
BATCH_TARGET = 1.3
DEMO_REFINE_CONFIG = 'configs/refiner/refiner_lite0-integral_p64_demo_cpu.py'
REFINE_TARGET = 1.5  # issue 32: both stages <= 1.5x the time per film of stage 1 alone, same test passes


@dataclass
class BenchContext:
    """What every model benchmark shares: config, weights, where generated data goes, quick or full."""
    quick: bool = False
    config: str = DEMO_CONFIG
    checkpoint: Optional[str] = None  # None: random init (timings only; detections then differ)
    device: str = 'cpu'
    threads: Optional[int] = None
    detections: Optional[int] = None  # fix detections per image in the overhead benchmark (random weights)
    work_dir: str = 'work_dirs/benchmark'
    profile_config: str = REFERENCE_CONFIG  # --only profile: the R50 reference unless --config names one
    refine_config: str = DEMO_REFINE_CONFIG  # --only refine: the stage-2 refiner timed after stage 1
    refine_checkpoint: Optional[str] = None  # None: the refine benchmark is skipped (it needs trained weights)
    films: Optional[str] = None  # --only refine: a folder of real films (default: the synthetic benchmark set)

    def dataset(self, vertebrae: Optional[int] = None) -> str:
        """Folder of a small synthetic set generated for the benchmark (fixed seed), made once."""
        out = os.path.join(self.work_dir, 'data', f'v{vertebrae}' if vertebrae else 'mixed')
        if not os.path.isfile(os.path.join(out, 'det_test.json')):
            from spinekey.datasets.synthetic import SyntheticSpec, write_dataset
            spec = SyntheticSpec(min_vertebrae=vertebrae, max_vertebrae=vertebrae) if vertebrae else SyntheticSpec()
            write_dataset(out, 40, spec, seed=0)
        return out

    def images(self, n: int, vertebrae: Optional[int] = None) -> List[str]:
        return sorted(glob.glob(os.path.join(self.dataset(vertebrae), 'images', '*.png')))[:n]

    def worker(self, **job) -> dict:
        """Run one measurement in a fresh process (its own peak memory) and return its numbers."""
        return run_worker(dict(dict(config=self.config, checkpoint=self.checkpoint, device=self.device,
                                    threads=self.threads), **job))


def run_worker(job: dict) -> dict:
    """``spinekey.benchmarks.worker.run_job(job)`` in a fresh process: its JSON line, or one line on failure.

    A job for the CPU runs with no GPU visible: the training-loop jobs go through mmengine's Runner, which
    takes a GPU whenever it sees one (``--only profile --device cpu`` on a GPU machine trained on the GPU)."""
    env = dict(os.environ, CUDA_VISIBLE_DEVICES='') if job.get('device', 'cpu') == 'cpu' else None
    proc = subprocess.run([sys.executable, '-m', 'spinekey.benchmarks.worker', json.dumps(job)],
                          capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ['(no output)'])[-1]
        raise SpineKeyError(f'benchmark worker {job["job"]} failed: {tail}')
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _r(value, digits=3):
    return round(float(value), digits)


def bench_overhead(ctx: BenchContext) -> dict:
    """Target 1: SpineKey vs the same Cascade Mask R-CNN without the keypoint branch (latency, train, memory)."""
    paths = ctx.images(4 if ctx.quick else 16)
    data = ctx.dataset()
    row = {'images': len(paths)}
    for variant in VARIANTS:
        inf = ctx.worker(job='infer', variant=variant, paths=paths, repeats=1 if ctx.quick else 3,
                         detections=ctx.detections)
        train = ctx.worker(job='train', variant=variant, data_root=data, ann_file='det_train.json',
                           repeats=1 if ctx.quick else 5, warmup=1 if ctx.quick else 2)
        row[f'{variant}_latency_s'] = _r(inf['latency_s'])
        row[f'{variant}_detections_per_image'] = _r(inf['detections_per_image'], 1)
        row[f'{variant}_infer_peak_mb'] = _r(inf['peak_memory_mb'], 0)
        row[f'{variant}_train_step_s'] = _r(train['step_s'])
        row[f'{variant}_train_peak_mb'] = _r(train['peak_memory_mb'], 0)
        row['train_batch_size'] = train['batch_size']
        row['threads'] = inf['threads']
    row['latency_ratio'] = _r(row['spinekey_latency_s'] / row['no_keypoints_latency_s'])
    row['train_step_ratio'] = _r(row['spinekey_train_step_s'] / row['no_keypoints_train_step_s'])
    row['train_memory_ratio'] = _r(row['spinekey_train_peak_mb'] / row['no_keypoints_train_peak_mb'])
    row['target'] = f'latency_ratio <= {OVERHEAD_TARGET}'
    row['target_met'] = row['latency_ratio'] <= OVERHEAD_TARGET
    return row


def bench_batch(ctx: BenchContext) -> dict:
    """Target 2: images/s of the tools/infer.py loop at --batch-size 4 vs 1 (same images, 1 reader worker)."""
    paths = ctx.images(8 if ctx.quick else 32)
    row = {'images': len(paths)}
    for bs in (1, 4):
        out = ctx.worker(job='throughput', paths=paths, batch_size=bs, num_workers=1, repeats=1 if ctx.quick else 2)
        row[f'batch{bs}_images_per_s'] = _r(out['images_per_s'])
        row[f'batch{bs}_peak_mb'] = _r(out['peak_memory_mb'], 0)
    row['speedup'] = _r(row['batch4_images_per_s'] / row['batch1_images_per_s'])
    if not ctx.quick:  # what the background reader buys: the same loop reading in the main process
        out = ctx.worker(job='throughput', paths=paths, batch_size=1, num_workers=0, repeats=2)
        row['batch1_no_reader_images_per_s'] = _r(out['images_per_s'])
    row['target'] = f'speedup >= {BATCH_TARGET}'
    row['target_met'] = row['speedup'] >= BATCH_TARGET
    return row


def growth_flag(cost_ratio: float, size_ratio: float, tolerance: float = 1.25) -> str:
    """'ok' when cost grows at most ``tolerance`` x faster than the size it is compared with, else 'WORSE'."""
    return 'ok' if cost_ratio <= tolerance * size_ratio else 'WORSE than linear'


def bench_scaling(ctx: BenchContext) -> dict:
    """Target 3: latency and peak memory by input size (long side) and by vertebrae per image."""
    sizes = [384, 768] if ctx.quick else [512, 1024, 1333, 2048]
    counts = [5, 24] if ctx.quick else [5, 17, 24]
    n, repeats = (2, 1) if ctx.quick else (6, 2)
    by_size, by_count = [], []
    for size in sizes:
        out = ctx.worker(job='infer', paths=ctx.images(n), scale=size, repeats=repeats)
        by_size.append({'long_side': size, 'latency_s': _r(out['latency_s']), 'peak_mb': _r(out['peak_memory_mb'], 0),
                        'detections_per_image': _r(out['detections_per_image'], 1)})
    base = by_size[0]
    for entry in by_size:
        pixel_ratio = (entry['long_side'] / base['long_side']) ** 2
        entry['pixel_ratio'] = _r(pixel_ratio, 2)
        entry['latency_ratio'] = _r(entry['latency_s'] / base['latency_s'], 2)
        entry['growth'] = growth_flag(entry['latency_ratio'], pixel_ratio)
    for count in counts:
        # exactly `count` detections per image (score threshold 0, top `count`): the heads' cost per vertebra
        out = ctx.worker(job='infer', paths=ctx.images(n, vertebrae=count), repeats=repeats, detections=count)
        by_count.append({'vertebrae': count, 'latency_s': _r(out['latency_s']),
                         'detections_per_image': _r(out['detections_per_image'], 1),
                         'peak_mb': _r(out['peak_memory_mb'], 0)})
    for entry in by_count:
        entry['latency_ratio'] = _r(entry['latency_s'] / by_count[0]['latency_s'], 2)
        entry['growth'] = growth_flag(entry['latency_ratio'], entry['vertebrae'] / by_count[0]['vertebrae'])
    return {'by_size': by_size, 'by_vertebrae': by_count}


def bench_gpu(ctx: BenchContext) -> dict:
    """Target 6: fp16 inference and AMP training vs fp32 on one GPU, with the keypoint EPE change; and the
    reference R50 config's real training loop (random weights, batch 8): images/s, data wait, GPU busy %."""
    import torch
    if not torch.cuda.is_available():
        return {'skipped': 'no CUDA device on this machine (the path runs with --device cuda on a GPU)'}
    gpu = ctx if ctx.device.startswith('cuda') else dataclasses.replace(ctx, device='cuda')
    paths, data = gpu.images(8 if gpu.quick else 32), gpu.dataset()
    row = {'device': torch.cuda.get_device_name(0)}
    for name, half in (('fp32', False), ('fp16', True)):
        inf = gpu.worker(job='infer', paths=paths, repeats=2 if gpu.quick else 5, autocast=half)
        epe = gpu.worker(job='epe', ann_file=os.path.join(data, 'det_test.json'), img_prefix=data, autocast=half)
        train = gpu.worker(job='train', variant='spinekey', data_root=data, ann_file='det_train.json',
                           repeats=3 if gpu.quick else 10, warmup=2, amp=half)
        row.update({f'{name}_latency_s': _r(inf['latency_s'], 4), f'{name}_infer_peak_mb': _r(inf['peak_memory_mb'], 0),
                    f'{name}_EPE_px': _r(epe['EPE_px'], 3), f'{name}_train_step_s': _r(train['step_s'], 4),
                    f'{name}_train_peak_mb': _r(train['peak_memory_mb'], 0)})
    for name, half in (('fp32', False), ('amp', True)):  # the reference config's real loop, batch 8
        loop = gpu.worker(job='train_loop', config=REFERENCE_CONFIG, data_root=data + '/', ann_file='det_train.json',
                          iters=10 if gpu.quick else 50, warmup=5, batch_size=8, amp=half,
                          work_dir=os.path.join(gpu.work_dir, 'train_loop'))
        row.update({f'reference_{name}_train_images_per_s': loop['images_per_s'],
                    f'reference_{name}_data_wait_share': loop['data_wait_share'],
                    f'reference_{name}_gpu_busy_percent': loop['gpu_busy_percent'],
                    'reference_loader_workers': loop['workers']})
    row['reference_amp_train_speedup'] = _r(row['reference_amp_train_images_per_s'] /
                                            row['reference_fp32_train_images_per_s'], 2)
    row['fp16_infer_speedup'] = _r(row['fp32_latency_s'] / row['fp16_latency_s'], 2)
    row['amp_train_speedup'] = _r(row['fp32_train_step_s'] / row['fp16_train_step_s'], 2)
    row['EPE_change_px'] = _r(abs(row['fp16_EPE_px'] - row['fp32_EPE_px']), 3)
    row['target_met'] = row['EPE_change_px'] <= 0.1
    return row


def bench_profile(ctx: BenchContext) -> dict:
    """Where a training step's time goes (spinekey.benchmarks.step_profile): ``ctx.profile_config`` on
    ``--device``; batch 8 on a GPU, 2 on a CPU."""
    config = ctx.profile_config
    cuda = ctx.device.startswith('cuda')
    steps = dict(warmup=1, iters=2) if ctx.quick else dict(warmup=5, iters=10) if cuda else dict(warmup=2, iters=3)
    return ctx.worker(job='profile', config=config, data_root=ctx.dataset() + '/', ann_file='det_train.json',
                      batch_size=8 if cuda and not ctx.quick else 2, work_dir=os.path.join(ctx.work_dir, 'profile'),
                      **steps)


def bench_refine(ctx: BenchContext) -> dict:
    """Issue 32's cost target: seconds per film of stage 1 alone vs stage 1 + the refiner, both with the
    config's own test passes (flip / rotation test), reading the film included, no measurement."""
    if not ctx.refine_checkpoint:
        return {'skipped': 'no refiner weights (make demo trains one; else --refine-config and --refine-checkpoint)'}
    if ctx.films:
        from spinekey.io.images import list_images
        paths = list_images(ctx.films)[0][:3 if ctx.quick else 10]
        if not paths:
            raise SpineKeyError(f'{ctx.films}: no films to time (PNG, JPEG, TIFF or DICOM)')
    else:
        paths = ctx.images(3 if ctx.quick else 10)
    repeats = 1 if ctx.quick else 2
    alone = ctx.worker(job='film', paths=paths, repeats=repeats, detections=ctx.detections)
    both = ctx.worker(job='film', paths=paths, repeats=repeats, detections=ctx.detections,
                      refine_config=ctx.refine_config, refine_checkpoint=ctx.refine_checkpoint)
    passes = (['flip'] if alone['flip_test'] else []) + \
        ([f"rotate +-{alone['rotate_test']:g} deg"] if alone['rotate_test'] else [])
    row = {'films': len(paths), 'films_from': ctx.films or 'synthetic benchmark set',
           'test_passes': ' + '.join(passes) or 'none',
           'detections_per_film': _r(alone['detections_per_film'], 1),
           'refined_detections_per_film': _r(both['detections_per_film'], 1),
           'stage1_s_per_film': _r(alone['film_s']), 'both_stages_s_per_film': _r(both['film_s']),
           'stage1_peak_mb': _r(alone['peak_memory_mb'], 0), 'both_stages_peak_mb': _r(both['peak_memory_mb'], 0),
           'refine_checkpoint': ctx.refine_checkpoint, 'threads': alone['threads']}
    row['time_ratio'] = _r(row['both_stages_s_per_film'] / row['stage1_s_per_film'])
    row['target'] = f'time_ratio <= {REFINE_TARGET}'
    row['target_met'] = row['time_ratio'] <= REFINE_TARGET
    return row
