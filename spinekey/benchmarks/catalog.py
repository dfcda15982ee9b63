"""Every benchmark of tools/benchmark.py by name, with the helpers that choose its weights and describe the
machine; ``run_benchmarks`` runs a list of them in this process."""
from __future__ import annotations

import os
import platform
import sys
import time
from typing import Callable, Dict, Optional, Sequence

from spinekey.benchmarks.accuracy import bench_eval, bench_measure
from spinekey.benchmarks.suites import (BenchContext, bench_batch, bench_gpu, bench_overhead, bench_profile,
                                        bench_refine, bench_scaling)


def bench_soak(ctx: BenchContext, films: int = 2000) -> dict:
    """Archive-scale run: memory of inference and measurement against progress (spinekey.benchmarks.soak)."""
    import shutil

    from spinekey.benchmarks.soak import make_films, run_soak
    n = films or (200 if ctx.quick else 2000)
    root = os.path.join(ctx.work_dir, 'soak')
    shutil.rmtree(root, ignore_errors=True)
    make_films(os.path.join(ctx.dataset(), 'images'), os.path.join(root, 'films'), n)
    checkpoint = ctx.checkpoint or random_checkpoint(ctx.config, os.path.join(root, 'random.pth'))
    # random weights score ~40 boxes per film above 0.3; 0.5 keeps a trained model's ~10 (said in the row)
    score = '0.3' if ctx.checkpoint else '0.5'
    row = run_soak(os.path.join(root, 'films'), n, os.path.join(root, 'out'), ctx.config, checkpoint,
                   extra=['--score_thr', score])
    row.update(checkpoint=ctx.checkpoint or 'random init', score_thr=float(score))
    shutil.rmtree(os.path.join(root, 'films'), ignore_errors=True)  # 2,000 copies of the same 40 films
    return row


def bench_data(ctx: BenchContext) -> dict:
    """The training data pipeline alone (spinekey.benchmarks.data_pipeline) on the synthetic benchmark set."""
    from spinekey.benchmarks.data_pipeline import bench_data_pipeline
    return bench_data_pipeline(ctx.config, ctx.dataset() + '/', n=12 if ctx.quick else 60)


def random_checkpoint(config: str, path: str) -> str:
    """A SpineKey checkpoint with random weights (the 4-corner demo meta) for cost-only runs."""
    import torch

    from spinekey.apis import init_model
    from spinekey.structures.keypoint_names import CORNERS_4
    model = init_model(config)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    torch.save({'state_dict': model.state_dict(),
                'meta': {'dataset_meta': {'classes': ('vertebra', ), 'keypoint_names': list(CORNERS_4)}}}, path)
    return path


def last_checkpoint(work_dir: str):
    marker = os.path.join(work_dir, 'last_checkpoint')
    if os.path.isfile(marker):
        path = open(marker).read().strip()
        return path if os.path.isfile(path) else None
    return None


BENCHMARKS = {'overhead': bench_overhead, 'batch': bench_batch, 'scaling': bench_scaling, 'eval': bench_eval,
              'measure': bench_measure, 'gpu': bench_gpu, 'data': bench_data, 'profile': bench_profile,
              'refine': bench_refine, 'soak': bench_soak}


def machine_info() -> dict:
    import torch
    info = {'cpu_count': os.cpu_count(), 'platform': platform.platform(), 'python': sys.version.split()[0],
            'torch': torch.__version__, 'cpu': platform.processor() or platform.machine()}
    if torch.cuda.is_available():
        info['gpu'] = torch.cuda.get_device_name(0)
    return info


def run_benchmarks(names: Sequence[str], ctx: BenchContext, extra: Optional[Dict[str, tuple]] = None,
                   on_result: Optional[Callable[[str, dict], None]] = None) -> dict:
    """The report of running ``names`` (machine, date, config, checkpoint, one result each with its
    benchmark_seconds); ``extra``: name -> more arguments; ``on_result(name, row)`` after each."""
    report = {'machine': machine_info(), 'quick': ctx.quick, 'date': time.strftime('%Y-%m-%d'),
              'config': ctx.config, 'checkpoint': ctx.checkpoint or 'random init', 'results': {}}
    for name in names:
        print(f'== {name}', file=sys.stderr)
        start = time.perf_counter()
        row = BENCHMARKS[name](ctx, *(extra or {}).get(name, ()))
        row['benchmark_seconds'] = round(time.perf_counter() - start, 1)
        report['results'][name] = row
        if on_result:
            on_result(name, row)
    return report
