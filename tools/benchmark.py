#!/usr/bin/env python
"""Benchmarks of what SpineKey costs, as ratios measured within one run (medians after warm-up).

overhead: latency, training step and peak memory with vs without the keypoint branch (target <= 1.15x)
batch:    images/s of the tools/infer.py loop at batch 4 vs 1 (target >= 1.3x)
scaling:  latency and memory at 512-2048 px long side and at 5, 17, 24 vertebrae per image
eval:     10,000-image keypoint evaluation vs pycocotools (and faster-coco-eval when installed)
measure:  measurement errors of the demo model (needs make demo), whether its Cobb uncertainty and QC find
          the films with the large errors, and the coverage of 90% conformal intervals of the Cobb angle and the
          heights fitted on the validation split (exact truth: judged on the synthetic test split)
gpu:      fp16 inference / AMP training vs fp32 and the EPE change (needs a CUDA device)
profile:  where a training step's time goes, by part (loader wait, backbone, RPN, RoI stages and their targets,
          backward, ...), with host-device syncs per part and a Chrome trace: the R50 reference config (or
          --config), on --device
data:     images/s of the config's training pipeline per loader worker, and without each transform (no model)
refine:   seconds per film of stage 1 alone vs stage 1 + the refiner (stage 2), same test passes (target
          <= 1.5x): the demo models after make demo, or --config/--checkpoint with --refine-config/
          --refine-checkpoint, on --films (real films) or the synthetic benchmark set
soak:     --soak-films films (default 2,000; 200 with --quick) through inference.sh --measure --save_vis with
          bad files mixed in: every film processed or listed, RSS at 10/50/100% of the run

Writes a table to stdout, work_dirs/benchmark/benchmark.json and benchmark.md (the README table).
``--only NAME`` runs one benchmark; ``--quick`` shrinks the sizes so the whole run takes a few minutes
(timings are then indicative only). Model weights: --checkpoint, else the demo model when make demo has
run, else random initialisation (costs only; detection counts then differ from a trained model).
"""
from __future__ import annotations

import argparse
import os

from spinekey.benchmarks.catalog import BENCHMARKS, last_checkpoint, run_benchmarks
from spinekey.benchmarks.report import print_report, to_markdown
from spinekey.benchmarks.suites import DEMO_CONFIG, DEMO_REFINE_CONFIG, REFERENCE_CONFIG, BenchContext
from spinekey.io.atomic import atomic_write_json, atomic_write_text
from spinekey.utils.cli import run_cli


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
    p.add_argument('--refine-config', default=DEMO_REFINE_CONFIG,
                   help=f'refine benchmark: the refiner config (default {DEMO_REFINE_CONFIG})')
    p.add_argument('--refine-checkpoint',
                   help='refine benchmark: the refiner weights (default: work_dirs/demo/refiner\'s last checkpoint '
                   'if any, else the benchmark is skipped)')
    p.add_argument('--films', help='refine benchmark: a folder of films to time (default: synthetic films)')
    p.add_argument('--soak-films', type=int, default=0,
                   help='films in the soak benchmark (default 2,000; 200 with --quick)')
    p.add_argument('--device', default='cpu', help='cpu or cuda (the gpu benchmark always uses cuda)')
    p.add_argument('--threads', type=int, help='torch threads per worker (default: torch\'s, = cores)')
    p.add_argument('--out', default='work_dirs/benchmark/benchmark.json',
                   help='JSON to write; the markdown table goes next to it (.md)')
    return p.parse_args()


@run_cli
def main() -> int:
    args = parse_args()
    # soak runs only when asked: 2,000 films take about 20 minutes on 2 cores
    names = ['measure'] if args.measure else (args.only or [b for b in BENCHMARKS if b != 'soak'])
    checkpoint = None if args.random_weights else (args.checkpoint or last_checkpoint('work_dirs/demo'))
    ctx = BenchContext(quick=args.quick, config=args.config or DEMO_CONFIG,
                       profile_config=args.config or REFERENCE_CONFIG, checkpoint=checkpoint, device=args.device,
                       threads=args.threads, detections=args.detections, refine_config=args.refine_config,
                       refine_checkpoint=args.refine_checkpoint or last_checkpoint('work_dirs/demo/refiner'),
                       films=args.films,
                       work_dir=os.path.dirname(os.path.abspath(args.out)))
    report = run_benchmarks(names, ctx, {'soak': (args.soak_films,), 'measure': (args.measure_data,)},
                            on_result=print_report)
    atomic_write_json(args.out, report, indent=2)
    markdown = os.path.splitext(args.out)[0] + '.md'
    atomic_write_text(markdown, to_markdown(report))
    print(f'wrote {args.out} and {markdown}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
