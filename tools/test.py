#!/usr/bin/env python
"""Test a trained SpineKey model the MMDetection way: mmengine's Runner.test() on the config's test split
with its test_evaluator (COCO bbox/segm AP and SpineKey's keypoint metrics).

K, classes and keypoint names come from the checkpoint; the evaluators' annotation file from the test
dataset (point it elsewhere with --cfg-options test_dataloader.dataset.data_root=... ann_file=...).
--refine-config / --refine-checkpoint add stage 2 (the refiner) between the model and the metrics.
"""
from __future__ import annotations

import argparse
import os

from mmengine.config import DictAction

from spinekey.apis.runner import default_work_dir, runner_test
from spinekey.utils.cli import load_config, run_cli


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config', help='model config (.py)')
    p.add_argument('checkpoint', help='trained weights (.pth)')
    p.add_argument('--work-dir', help='where logs and metrics go (default: work_dirs/<config>/test)')
    p.add_argument('--out', help='also write the predictions: .json = SpineKey results.json (COCO results with '
                                 'keypoints), .pkl = mmdet\'s DumpDetResults pickle')
    p.add_argument('--show-dir', help='write overlays (boxes, masks, keypoints) to WORK_DIR/<timestamp>/SHOW_DIR')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, default=None,
                   help='override config keys, e.g. test_dataloader.dataset.ann_file=my_test.json')
    p.add_argument('--refine-config', help='stage 2: the refiner config (configs/refiner/...); every detection\'s '
                                           'keypoints re-placed on its own full-resolution patch before the metrics')
    p.add_argument('--refine-checkpoint', help='the refiner\'s weights (with --refine-config)')
    p.add_argument('--refine-passes', type=int, help='refine again on the refined corners (default: the config\'s)')
    p.add_argument('--launcher', choices=['none', 'pytorch'], default='none',
                   help='pytorch: started by torchrun (one process per GPU or CPU share)')
    p.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return p.parse_args()


@run_cli
def main() -> int:
    args = parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    cfg = load_config(args.config, args.cfg_options)
    metrics = runner_test(cfg, args.checkpoint, args.work_dir or default_work_dir(args.config, 'test'),
                       launcher=args.launcher, out=args.out, show_dir=args.show_dir,
                       refine_config=args.refine_config, refine_checkpoint=args.refine_checkpoint,
                       refine_passes=args.refine_passes)
    print('test metrics: ' + ', '.join(f'{k}={v:.4f}' for k, v in metrics.items() if isinstance(v, float)))
    if args.out:
        print(f'wrote {args.out}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
