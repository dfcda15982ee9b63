#!/usr/bin/env python
"""Download SpineKey's pretrained backbone weights from ModelScope (kyan007/spinekey) into checkpoints/ and
verify them (safe loader, every backbone tensor present with the right shape). Without network it stops
with one line saying how to fetch the file by hand; --verify-only checks a file you copied yourself."""
from __future__ import annotations

import argparse
import os

from spinekey.utils.cli import run_cli
from spinekey.utils.errors import SpineKeyError


def parse_args():
    from spinekey.io.weights import BACKBONES, MODELSCOPE_REPO
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--file', default='resnext101_64x4d.pth', choices=sorted(BACKBONES),
                   help='which backbone file (default: the x101 reference config\'s)')
    p.add_argument('--dest', default='checkpoints', help='folder to put it in (default checkpoints/)')
    p.add_argument('--repo', default=MODELSCOPE_REPO, help='ModelScope model repo')
    p.add_argument('--endpoint', help='ModelScope endpoint (mirrors, tests)')
    p.add_argument('--retries', type=int, default=3, help='download attempts before giving up')
    p.add_argument('--verify-only', action='store_true', help='do not download; verify DEST/FILE')
    p.add_argument('--force', action='store_true', help='download even if the file is already there')
    return p.parse_args()


@run_cli
def main() -> int:
    args = parse_args()
    os.environ.setdefault('MODELSCOPE_DOWNLOAD_MAX_RETRIES', str(max(1, args.retries)))
    from spinekey.io.weights import BACKBONES, download, verify_backbone
    path = os.path.join(args.dest, args.file)
    if args.verify_only:
        if not os.path.isfile(path):
            raise SpineKeyError(f'{path}: not found (nothing to verify)')
    elif os.path.isfile(path) and not args.force:
        print(f'{path} already present; verifying (--force downloads again)')
    else:
        print(f'downloading {args.repo}/{args.file} -> {path}')
        path = download(args.file, args.dest, args.repo, args.endpoint)
    n = verify_backbone(path, BACKBONES[args.file])
    print(f'{path}: OK ({n} backbone tensors, safe loader)')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
