"""One benchmark measurement in a fresh process: ``python -m spinekey.benchmarks.worker JOB_JSON``.

A fresh process per measurement gives each its own peak memory and keeps one model's caches from helping
the next. Prints one JSON line: the job's numbers plus ``peak_memory_mb``.
"""
from __future__ import annotations

import json
import sys

import torch

from spinekey.benchmarks import model_cost


def run_job(job: dict) -> dict:
    if job.get('threads'):
        torch.set_num_threads(int(job['threads']))
    device = job.get('device', 'cpu')
    kind = job['job']
    if kind in ('train_loop', 'profile'):  # the config's real training loop: its speed, or where its time goes
        from spinekey.benchmarks.step_profile import profile_training_step
        from spinekey.benchmarks.train_loop import train_loop_throughput
        loop = train_loop_throughput if kind == 'train_loop' else profile_training_step
        out = loop(job['config'], job['data_root'], job['ann_file'], job['iters'], job['warmup'],
                   job.get('batch_size'), job.get('amp', False), job.get('workers'), job['work_dir'])
    elif kind == 'train':
        out = model_cost.train_step_time(job['config'], job['data_root'], job['ann_file'], job['variant'],
                                         device, job['repeats'], job.get('warmup', 2),
                                         amp=job.get('amp', False))
    elif kind == 'film':
        out = model_cost.film_latency(job['config'], job.get('checkpoint'), job['paths'], device,
                                      job.get('refine_config'), job.get('refine_checkpoint'), job['repeats'],
                                      job.get('detections'))
    else:
        model = model_cost.build_model(job['config'], job.get('checkpoint'), job.get('variant', 'spinekey'),
                                       device, job.get('scale'), job.get('detections'))
        if kind == 'infer':
            out = model_cost.infer_latency(model, model_cost.load_items(model, job['paths']), job['repeats'],
                                           autocast=job.get('autocast', False))
        elif kind == 'epe':
            out = model_cost.keypoint_epe(model, job['ann_file'], job['img_prefix'], job.get('autocast', False))
        elif kind == 'throughput':
            out = model_cost.infer_throughput(model, job['paths'], job['batch_size'], job['num_workers'],
                                              job['repeats'])
        else:
            raise ValueError(f'unknown benchmark job {kind!r}')
    out['peak_memory_mb'] = model_cost.peak_memory_mb(device)
    out['threads'] = torch.get_num_threads()
    return out


def main() -> int:
    print(json.dumps(run_job(json.loads(sys.argv[1]))))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
