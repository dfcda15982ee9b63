#!/usr/bin/env python
"""Convert a spine dataset from another format into SpineKey COCO (boxes, polygon masks, named keypoints).
Formats without boxes/masks get them from the keypoints: the tight box of the visible keypoints (--box-pad
to enlarge it) and the polygon through the corners around the body.

Faulty entries are reported on stderr and listed in the output's info.excluded; the rest converts.
--strict stops at the first problem instead.
"""
from __future__ import annotations

import argparse
import sys

from spinekey.converters.convert import FORMATS, convert_dataset, excluded_lines
from spinekey.io.atomic import atomic_write_json, protect_inputs
from spinekey.utils.cli import run_cli
from spinekey.utils.errors import SpineKeyError


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--from', dest='fmt', required=True, choices=FORMATS, help='source format')
    p.add_argument('--src', required=True,
                   help='source: aasce: the folder that holds boostnet_labeldata/; spinetk: its folder of per-image '
                   'JSON; csv-*: the CSV file; labelme: a folder of (or one) labelme JSON; yolo-pose: the labels '
                   'folder')
    p.add_argument('--images-dir', help='csv-*, yolo-pose: folder the image names are relative to (sizes are read '
                   'from the files); default: the folder of --src')
    p.add_argument('--corner-order', default='top_left,top_right,bottom_left,bottom_right',
                   help='csv-image: order of the 4 corner cells of each vertebra (default: AASCE order)')
    p.add_argument('--keypoint-names', help='labelme, yolo-pose: keypoint names in order (default: the 4-corner or '
                   '6-point set for K)')
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


@run_cli
def main() -> int:
    args = parse_args()
    protect_inputs({'--src': args.src})
    coco = convert_dataset(args.fmt, args.src, args.images_dir,
                           args.keypoint_names.split(',') if args.keypoint_names else None,
                           args.corner_order.split(','), args.box_pad, args.split, args.labels, args.keep_faulty)
    for line in excluded_lines(coco):
        if args.strict:
            raise SpineKeyError(line + ' (--strict)')
        print(f'excluded: {line}', file=sys.stderr)
    if not coco['images']:
        raise SpineKeyError(f'{args.src}: nothing converted ({len(coco["info"]["excluded"])} entries excluded)')
    atomic_write_json(args.out, coco)
    n_excl = len(coco['info']['excluded'])
    print(f'wrote {args.out}: {len(coco["images"])} images, {len(coco["annotations"])} annotations; '
          f'{n_excl} entr{"y" if n_excl == 1 else "ies"} excluded (listed above and in info.excluded)')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
