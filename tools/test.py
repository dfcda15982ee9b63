#!/usr/bin/env python
"""Test a trained SpineKey model the MMDetection way: mmengine's Runner.test() on the config's test split
with its test_evaluator (COCO bbox/segm AP and SpineKey's keypoint metrics).

K, classes and keypoint names come from the checkpoint; the evaluators' annotation file from the test
dataset (point it elsewhere with --cfg-options test_dataloader.dataset.data_root=... ann_file=...).
"""
from __future__ import annotations

import argparse
import os
import os.path as osp

from mmengine.config import DictAction

from spinekey.utils.cli import load_config, run_cli
from spinekey.utils.errors import SpineKeyError
from spinekey.apis.batch import close_process_group
from spinekey.apis.training import init_cpu_distributed, prepare_test_config


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
    p.add_argument('--launcher', choices=['none', 'pytorch'], default='none',
                   help='pytorch: started by torchrun (one process per GPU or CPU share)')
    p.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return p.parse_args()


@run_cli
def main() -> int:
    args = parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    if args.out and not args.out.endswith(('.json', '.pkl', '.pickle')):
        raise SpineKeyError(f'--out {args.out}: give a .json (results.json) or .pkl file')
    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    work_dir = args.work_dir or osp.join('work_dirs', osp.splitext(osp.basename(args.config))[0], 'test')
    prepare_test_config(cfg, args.checkpoint, work_dir)
    if args.show_dir:
        cfg.default_hooks.visualization.update(draw=True, test_out_dir=args.show_dir)
    if args.launcher == 'pytorch':
        init_cpu_distributed(cfg)
    from mmengine.runner import Runner
    runner = Runner.from_cfg(cfg)
    if args.out:
        runner.test_evaluator.metrics.append(_dump_metric(args.out, cfg))
    metrics = runner.test()
    print('test metrics: ' + ', '.join(f'{k}={v:.4f}' for k, v in metrics.items() if isinstance(v, float)))
    if args.out:
        print(f'wrote {args.out}')
    close_process_group()
    return 0


def _dump_metric(out: str, cfg):
    if out.endswith('.json'):
        from spinekey.evaluation.metrics.dump_results import DumpSpineResults
        ds = cfg.test_dataloader.dataset
        root = osp.join(ds.get('data_root', '') or '', (ds.get('data_prefix') or {}).get('img', '') or '')
        return DumpSpineResults(out_file=out, image_root=root)
    from mmdet.evaluation import DumpDetResults
    return DumpDetResults(out_file_path=out)


if __name__ == '__main__':
    raise SystemExit(main())
