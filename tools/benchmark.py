#!/usr/bin/env python
"""Benchmarks of what SpineKey costs, as ratios measured within one run (medians after warm-up).

Writes a table to stdout and work_dirs/benchmark/benchmark.json. ``--only eval`` runs one benchmark;
``--quick`` shrinks the sizes so the whole run takes a few minutes (timings are then indicative only).
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import statistics
import sys
import time

from spinekey.io.atomic import atomic_write_json


def timed(fn, repeats: int, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` in seconds over ``repeats`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_eval(quick: bool) -> dict:
    """Keypoint metrics (matching + PCK/AUC/EPE/SDR/breakdowns) vs pycocotools' COCOeval keypoints."""
    from spinekey.evaluation.coco_ap import coco_ap
    from spinekey.evaluation.evaluate import evaluate
    from spinekey.evaluation.synthetic_results import make_gt_and_results
    n = 500 if quick else 10000
    gt, results = make_gt_and_results(n)
    ours = timed(lambda: evaluate(gt, results, coco=False), repeats=1 if quick else 3)
    row = {'images': n, 'instances': len(gt['annotations']), 'spinekey_keypoint_metrics_s': round(ours, 3)}
    with contextlib.redirect_stdout(io.StringIO()):
        row['pycocotools_keypoints_s'] = round(timed(lambda: coco_ap(gt, results, 'keypoints'), 1, 0), 3)
    row['speedup_vs_pycocotools'] = round(row['pycocotools_keypoints_s'] / ours, 2)
    try:
        import faster_coco_eval  # noqa: F401
        row['faster_coco_eval_keypoints_s'] = round(timed(lambda: _faster_coco_eval(gt, results), 1, 0), 3)
        row['speedup_vs_faster_coco_eval'] = round(row['faster_coco_eval_keypoints_s'] / ours, 2)
    except ImportError:
        row['faster_coco_eval_keypoints_s'] = 'not installed (pip install faster-coco-eval)'
    row['target_met'] = (ours <= 10.0) if not quick else 'n/a in --quick'
    return row


def _faster_coco_eval(gt, results):
    import copy

    import numpy as np
    from faster_coco_eval import COCO, COCOeval_faster
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = copy.deepcopy(gt)
        coco_gt.createIndex()
        ev = COCOeval_faster(coco_gt, coco_gt.loadRes(copy.deepcopy(results)), 'keypoints')
        ev.params.kpt_oks_sigmas = np.full(4, 0.025)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()


def bench_measure(quick: bool, checkpoint: str = None, data: str = 'data/synthetic') -> dict:
    """Measurement error of the demo model on the synthetic test split, against the GT keypoints' values."""
    import json
    import subprocess
    import tempfile

    from spinekey.evaluation.measurement_agreement import measurement_agreement
    from spinekey.io.coco_files import load_coco_gt, load_results
    from spinekey.io.measure_inputs import images_from_gt, images_from_results
    from spinekey.visualization.plots import plot_confusions
    checkpoint = checkpoint or _last_checkpoint('work_dirs/demo')
    ann = os.path.join(data, 'det_test.json')
    if not checkpoint or not os.path.isfile(ann):
        return {'skipped': f'needs the demo checkpoint and {ann}: run make demo first'}
    with tempfile.TemporaryDirectory() as tmp:
        results_path = os.path.join(tmp, 'results.json')
        cmd = [sys.executable, 'tools/infer.py', '--config', 'configs/spinekey/spinekey_demo_cpu.py',
               '--checkpoint', checkpoint, '--ann-file', ann, '--img-prefix', data, '--out', results_path,
               '--device', 'cpu', '--score-thr', '0.3']
        subprocess.run(cmd, check=True, capture_output=True, text=True)
        results = load_results(results_path)
    gt = load_coco_gt(ann)
    truth = json.load(open(os.path.join(data, 'truth.json')))['images']
    row = measurement_agreement(images_from_gt(gt), images_from_results(results, 0.3, gt=gt),
                                {name: t['anterior'] for name, t in truth.items()}, images_dir=data,
                                pred_bottom_level='L5')  # every synthetic column ends at L5
    os.makedirs('work_dirs/benchmark', exist_ok=True)
    plot_confusions({'Genant': row['genant_confusion'], 'Meyerding': row['meyerding_confusion']},
                    'work_dirs/benchmark/measure_confusion.png')
    row['checkpoint'] = checkpoint
    row['confusion_png'] = 'work_dirs/benchmark/measure_confusion.png'
    return row


def _last_checkpoint(work_dir: str):
    marker = os.path.join(work_dir, 'last_checkpoint')
    if os.path.isfile(marker):
        path = open(marker).read().strip()
        return path if os.path.isfile(path) else None
    return None


BENCHMARKS = {'eval': bench_eval, 'measure': bench_measure}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--only', choices=sorted(BENCHMARKS), help='run one benchmark')
    p.add_argument('--measure', action='store_true', help='same as --only measure: measurement errors of the '
                   'demo model on the synthetic test split (needs make demo)')
    p.add_argument('--quick', action='store_true', help='small sizes (a few minutes in all)')
    p.add_argument('--out', default='work_dirs/benchmark/benchmark.json')
    return p.parse_args()


def main() -> int:
    args = parse_args()
    if args.measure:
        args.only = 'measure'
    names = [args.only] if args.only else list(BENCHMARKS)
    report = {'machine': {'cpu_count': os.cpu_count(), 'platform': platform.platform(),
                          'python': sys.version.split()[0]},
              'quick': args.quick, 'date': time.strftime('%Y-%m-%d'), 'results': {}}
    for name in names:
        print(f'== {name}', file=sys.stderr)
        report['results'][name] = BENCHMARKS[name](args.quick)
        for key, value in report['results'][name].items():
            if not key.endswith('_confusion'):
                print(f'{name:<8}{key:<34}{value}')
    atomic_write_json(args.out, report, indent=2)
    print(f'wrote {args.out}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
