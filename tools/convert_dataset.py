#!/usr/bin/env python
"""Convert a spine dataset from another format into SpineKey COCO (boxes, polygon masks, named keypoints).

Faulty entries are reported on stderr and listed in the output's info.excluded; the rest converts.
--strict stops at the first problem instead.
"""
from __future__ import annotations

import argparse
import sys

from spinekey.io.atomic import atomic_write_json
from spinekey.utils.cli import run_cli
from spinekey.utils.errors import SpineKeyError

FORMATS = ('aasce', )


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--from', dest='fmt', required=True, choices=FORMATS, help='source format')
    p.add_argument('--src', required=True,
                   help='source: for aasce, the folder that holds boostnet_labeldata/')
    p.add_argument('--out', required=True, help='COCO JSON to write')
    p.add_argument('--split', default='training', help='aasce: split folder name (training|test)')
    p.add_argument('--labels', choices=('mat', 'csv'), default='mat',
                   help='aasce: read the .mat files (default) or landmarks.csv')
    p.add_argument('--box-pad', type=float, default=0.0,
                   help='enlarge the tight corner boxes by this fraction of their size per side')
    p.add_argument('--keep-faulty', action='store_true',
                   help='keep the sound vertebrae of images with a faulty one (default: exclude the image)')
    p.add_argument('--strict', action='store_true', help='stop at the first faulty entry')
    return p.parse_args()


def convert_aasce(args) -> dict:
    from spinekey.io.aasce import read_aasce, to_coco
    return to_coco(read_aasce(args.src, args.split, args.labels), box_pad=args.box_pad,
                   keep_faulty=args.keep_faulty)


def report_excluded(coco: dict, strict: bool) -> None:
    excluded = coco['info'].get('excluded', [])
    for item in excluded:
        where = item['file_name'] + (f' [{item["level"]}]' if item.get('level') else '')
        line = f'{where}: {"; ".join(item["reasons"])}'
        if strict:
            raise SpineKeyError(line + ' (--strict)')
        print(f'excluded: {line}', file=sys.stderr)


@run_cli
def main() -> int:
    args = parse_args()
    coco = {'aasce': convert_aasce}[args.fmt](args)
    report_excluded(coco, args.strict)
    if not coco['images']:
        raise SpineKeyError(f'{args.src}: nothing converted ({len(coco["info"]["excluded"])} entries excluded)')
    atomic_write_json(args.out, coco)
    n_img_excl = sum(1 for e in coco['info']['excluded'] if e.get('level') is None)
    print(f'wrote {args.out}: {len(coco["images"])} images, {len(coco["annotations"])} annotations; '
          f'{n_img_excl} image(s) excluded, reasons listed above and in info.excluded')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
