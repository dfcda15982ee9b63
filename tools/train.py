#!/usr/bin/env python
"""Train a SpineKey model with mmengine's Runner (single process, or one rank of torchrun)."""
from __future__ import annotations

import argparse
import os

from mmengine.config import DictAction

from spinekey.apis.runner import default_work_dir, train_run
from spinekey.utils.cli import load_config, run_cli


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('config', help='config file, e.g. configs/spinekey/spinekey_demo_cpu.py')
    parser.add_argument('--work-dir', help='where logs and checkpoints go (default: work_dirs/<config>)')
    parser.add_argument('--resume', nargs='?', const='auto', default=None,
                        help='resume from CKPT, or from the latest checkpoint in the work dir if no CKPT')
    parser.add_argument('--amp', action='store_true', help='mixed precision (GPU)')
    parser.add_argument('--workers', type=int, default=None,
                        help='training loader workers per process (default: the config\'s on CPU; on a GPU the '
                        'node\'s CPUs shared among its processes, up to 8, with pinned memory)')
    parser.add_argument('--strict', action='store_true',
                        help='treat annotation warnings (zero-size boxes, keypoints outside the image) as errors')
    parser.add_argument('--skip-bad-images', action='store_true',
                        help='train without unusable images (listed in the log) instead of refusing the dataset')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale lr by total batch / auto_scale_lr.base_batch_size')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default=None,
                        help='override config keys, e.g. train_cfg.max_epochs=2')
    parser.add_argument('--launcher', choices=['none', 'pytorch'], default='none',
                        help='pytorch: started by torchrun (train.sh does this)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser.parse_args()


@run_cli
def main() -> int:
    args = parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    cfg = load_config(args.config, args.cfg_options)
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or default_work_dir(args.config)
    user_workers = any(k.startswith('train_dataloader.num_workers') for k in args.cfg_options or {})
    train_run(cfg, launcher=args.launcher, skip_bad_images=args.skip_bad_images, strict=args.strict, amp=args.amp,
              auto_scale_lr=args.auto_scale_lr, resume=args.resume, workers=args.workers,
              scale_workers=not user_workers)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
