#!/usr/bin/env python
"""Benchmarks of what SpineKey costs, as ratios measured within one run (medians after warm-up).

overhead: latency, training step and peak memory with vs without the keypoint branch (target <= 1.15x)
batch:    images/s of the tools/infer.py loop at batch 4 vs 1 (target >= 1.3x)
scaling:  latency and memory at 512-2048 px long side and at 5, 17, 24 vertebrae per image
eval:     10,000-image keypoint evaluation vs pycocotools (and faster-coco-eval when installed)
measure:  measurement errors of the demo model (needs make demo), and whether its Cobb uncertainty and QC find
          the films with the large errors (exact truth: the synthetic test split)
gpu:      fp16 inference / AMP training vs fp32 and the EPE change (needs a CUDA device)
profile:  where a training step's time goes, by part (loader wait, backbone, RPN, RoI stages and their targets,
          backward, ...), with host-device syncs per part and a Chrome trace: the R50 reference config (or
          --config), on --device
data:     images/s of the config's training pipeline per loader worker, and without each transform (no model)
soak:     --soak-films films (default 2,000; 200 with --quick) through inference.sh --measure --save_vis with
          bad files mixed in: every film processed or listed, RSS at 10/50/100% of the run

Writes a table to stdout, work_dirs/benchmark/benchmark.json and benchmark.md (the README table).
``--only NAME`` runs one benchmark; ``--quick`` shrinks the sizes so the whole run takes a few minutes
(timings are then indicative only). Model weights: --checkpoint, else the demo model when make demo has
run, else random initialisation (costs only; detection counts then differ from a trained model).
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import sys
import time

from spinekey.benchmarks.model_cost import timed
from spinekey.benchmarks.report import print_report, to_markdown
from spinekey.benchmarks.suites import (DEMO_CONFIG, REFERENCE_CONFIG, BenchContext, bench_batch, bench_gpu,
                                        bench_overhead, bench_profile, bench_scaling)
from spinekey.io.atomic import atomic_write_json, atomic_write_text
from spinekey.utils.cli import run_cli


def bench_eval(ctx: BenchContext) -> dict:
    """Keypoint metrics (matching + PCK/AUC/EPE/SDR/breakdowns) vs pycocotools' COCOeval keypoints."""
    from spinekey.evaluation.coco_ap import coco_ap
    from spinekey.evaluation.evaluate import evaluate
    from spinekey.evaluation.synthetic_results import make_gt_and_results
    quick = ctx.quick
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


def bench_measure(ctx: BenchContext, data: str = 'data/synthetic') -> dict:
    """Measurement error of the demo model on the synthetic test split, against the GT keypoints' values."""
    import json
    import subprocess
    import tempfile

    from mmengine.config import Config

    from spinekey.evaluation.measurement_agreement import measurement_agreement
    from spinekey.io.coco_files import load_coco_gt, load_results
    from spinekey.measurement.qc import QCThresholds
    from spinekey.measurement.inputs import images_from_gt, images_from_results
    from spinekey.visualization.plots import plot_confusions, plot_uncertainty_validation
    checkpoint = ctx.checkpoint
    ann = os.path.join(data, 'det_test.json')
    if not checkpoint or not os.path.isfile(ann):
        return {'skipped': f'needs the demo checkpoint and {ann}: run make demo first'}
    with tempfile.TemporaryDirectory() as tmp:
        results_path = os.path.join(tmp, 'results.json')
        cmd = [sys.executable, 'tools/infer.py', '--config', DEMO_CONFIG,
               '--checkpoint', checkpoint, '--ann-file', ann, '--img-prefix', data, '--out', results_path,
               '--device', 'cpu', '--score-thr', '0.3']
        subprocess.run(cmd, check=True, capture_output=True, text=True)
        results = load_results(results_path)
    gt = load_coco_gt(ann)
    truth = json.load(open(os.path.join(data, 'truth.json')))['images']
    row = measurement_agreement(images_from_gt(gt), images_from_results(results, 0.3, gt=gt),
                                {name: t['anterior'] for name, t in truth.items()}, images_dir=data,
                                pred_bottom_level='L5',  # every synthetic column ends at L5
                                qc_thresholds=QCThresholds.from_config(Config.fromfile(DEMO_CONFIG).get('qc')))
    png = os.path.join(ctx.work_dir, 'measure_confusion.png')  # beside --out
    os.makedirs(ctx.work_dir, exist_ok=True)
    plot_confusions({'Genant': row['genant_confusion'], 'Meyerding': row['meyerding_confusion']}, png)
    row = dict(data=ann, **row)
    row['checkpoint'] = checkpoint
    row['confusion_png'] = png
    check = row.pop('cobb_uncertainty')
    if check:  # the headline numbers in the row, the curve and the scatter beside the table
        kept = {r['kept']: r['smape'] for r in check['retention']}
        row.update(cobb_unc_auroc=_round(check['auroc']), cobb_bad_films=f'{check["n_bad"]}/{check["n_films"]}',
                   cobb_smape_all=_round(check['smape']), cobb_smape_kept90=_round(kept[0.9]),
                   cobb_smape_kept80=_round(kept[0.8]), cobb_within_1sd=_round(check['coverage_1sd']),
                   cobb_within_2sd=_round(check['coverage_2sd']), qc_review_films=check['qc']['n_review'],
                   cobb_smape_qc_ok=_round(check['qc']['smape_ok']),
                   cobb_smape_qc_review=_round(check['qc']['smape_review']))
        row['uncertainty_png'] = plot_uncertainty_validation(check, os.path.join(ctx.work_dir, 'measure_cobb_'))
    return row


def _round(x, digits: int = 3):
    return None if x is None else round(float(x), digits)


def bench_soak(ctx: BenchContext, films: int = 2000) -> dict:
    """Archive-scale run: memory of inference and measurement against progress (spinekey.benchmarks.soak)."""
    import shutil

    from spinekey.benchmarks.soak import make_films, run_soak
    n = films or (200 if ctx.quick else 2000)
    root = os.path.join(ctx.work_dir, 'soak')
    shutil.rmtree(root, ignore_errors=True)
    make_films(os.path.join(ctx.dataset(), 'images'), os.path.join(root, 'films'), n)
    checkpoint = ctx.checkpoint or _random_checkpoint(ctx.config, os.path.join(root, 'random.pth'))
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


def _random_checkpoint(config: str, path: str) -> str:
    """A SpineKey checkpoint with random weights (the 4-corner demo meta) for cost-only runs."""
    import torch

    from spinekey.apis import init_model
    from spinekey.structures.keypoint_names import CORNERS_4
    model = init_model(config)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    torch.save({'state_dict': model.state_dict(),
                'meta': {'dataset_meta': {'classes': ('vertebra', ), 'keypoint_names': list(CORNERS_4)}}}, path)
    return path


def _last_checkpoint(work_dir: str):
    marker = os.path.join(work_dir, 'last_checkpoint')
    if os.path.isfile(marker):
        path = open(marker).read().strip()
        return path if os.path.isfile(path) else None
    return None


BENCHMARKS = {'overhead': bench_overhead, 'batch': bench_batch, 'scaling': bench_scaling, 'eval': bench_eval,
              'measure': bench_measure, 'gpu': bench_gpu, 'data': bench_data, 'profile': bench_profile,
              'soak': bench_soak}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--only', choices=sorted(BENCHMARKS), nargs='+', help='run these benchmarks only')
    p.add_argument('--measure', action='store_true', help='same as --only measure: measurement errors of the '
                   'demo model on the synthetic test split (needs make demo)')
    p.add_argument('--measure-data', default='data/synthetic',
                   help='measure benchmark: synthetic folder whose det_test.json is scored (default data/synthetic, '
                   'the demo\'s 25 test films; a larger held-out set: tools/make_synthetic.py --seed 1 '
                   '--num-images 2000 --out data/synthetic_seed1 gives 200 films the demo model never saw)')
    p.add_argument('--quick', action='store_true', help='small sizes (under 5 minutes in all on 2 cores)')
    p.add_argument('--config', help=f'model config (default {DEMO_CONFIG}; the profile benchmark: the R50 reference)')
    p.add_argument('--checkpoint', help='weights (default: work_dirs/demo\'s last checkpoint if any, else random)')
    p.add_argument('--random-weights', action='store_true',
                   help='ignore the demo checkpoint: random initialisation (costs only, e.g. in tests)')
    p.add_argument('--detections', type=int,
                   help='overhead benchmark: exactly N detections per image (score threshold 0), e.g. 17 for a '
                   'config without trained weights, whose random scores would decide the head workload')
    p.add_argument('--soak-films', type=int, default=0,
                   help='films in the soak benchmark (default 2,000; 200 with --quick)')
    p.add_argument('--device', default='cpu', help='cpu or cuda (the gpu benchmark always uses cuda)')
    p.add_argument('--threads', type=int, help='torch threads per worker (default: torch\'s, = cores)')
    p.add_argument('--out', default='work_dirs/benchmark/benchmark.json',
                   help='JSON to write; the markdown table goes next to it (.md)')
    return p.parse_args()


def machine_info() -> dict:
    import torch
    info = {'cpu_count': os.cpu_count(), 'platform': platform.platform(), 'python': sys.version.split()[0],
            'torch': torch.__version__, 'cpu': platform.processor() or platform.machine()}
    if torch.cuda.is_available():
        info['gpu'] = torch.cuda.get_device_name(0)
    return info


@run_cli
def main() -> int:
    args = parse_args()
    # soak runs only when asked: 2,000 films take about 20 minutes on 2 cores
    names = ['measure'] if args.measure else (args.only or [b for b in BENCHMARKS if b != 'soak'])
    checkpoint = None if args.random_weights else (args.checkpoint or _last_checkpoint('work_dirs/demo'))
    ctx = BenchContext(quick=args.quick, config=args.config or DEMO_CONFIG,
                       profile_config=args.config or REFERENCE_CONFIG, checkpoint=checkpoint, device=args.device,
                       threads=args.threads, detections=args.detections,
                       work_dir=os.path.dirname(os.path.abspath(args.out)))
    report = {'machine': machine_info(), 'quick': args.quick, 'date': time.strftime('%Y-%m-%d'),
              'config': ctx.config, 'checkpoint': checkpoint or 'random init', 'results': {}}
    for name in names:
        print(f'== {name}', file=sys.stderr)
        start = time.perf_counter()
        bench = BENCHMARKS[name]
        extra = {'soak': (args.soak_films,), 'measure': (args.measure_data,)}.get(name, ())
        report['results'][name] = bench(ctx, *extra)
        report['results'][name]['benchmark_seconds'] = round(time.perf_counter() - start, 1)
        print_report(name, report['results'][name])
    atomic_write_json(args.out, report, indent=2)
    markdown = os.path.splitext(args.out)[0] + '.md'
    atomic_write_text(markdown, to_markdown(report))
    print(f'wrote {args.out} and {markdown}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
