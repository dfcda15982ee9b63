#!/usr/bin/env python
"""Draw annotations (a COCO file) or predictions (results.json) on their images; or, with --pipeline CONFIG,
samples after the config's training augmentation, to check that keypoints stay on their anatomy."""
from __future__ import annotations

import argparse
import os.path as osp

from spinekey.apis.visualize import augmented_sheet, draw_annotation_files, write_image
from spinekey.io.atomic import protect_inputs
from spinekey.structures.results import DEFAULT_SCORE_THR
from spinekey.utils.cli import run_cli
from spinekey.utils.errors import SpineKeyError


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--ann-file', help='COCO file: drawn itself, or the GT of --results (with --pipeline: '
                   'overrides the config\'s training annotation file)')
    p.add_argument('--pipeline', metavar='CONFIG', help='draw augmented training samples of this config')
    p.add_argument('--data-root', help='with --pipeline: override the dataset folder')
    p.add_argument('--repeats', type=int, default=4, help='with --pipeline: augmented draws per image')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--img-prefix', default='', help='folder the file_name entries are relative to')
    p.add_argument('--results', help='results.json to draw instead of the annotations')
    p.add_argument('--score-thr', type=float, default=DEFAULT_SCORE_THR)
    p.add_argument('--out', required=True, help='output folder, or a .png/.jpg for one side-by-side panel')
    p.add_argument('--num', type=int, default=3, help='how many images (first N by id)')
    p.add_argument('--scale', type=int, default=1, help='enlarge images before drawing')
    return p.parse_args()


@run_cli
def main() -> int:
    args = parse_args()
    protect_inputs({'--ann-file': args.ann_file, '--results': args.results})
    if args.pipeline:
        sheet = augmented_sheet(args.pipeline, args.num, args.repeats, args.seed, args.data_root, args.ann_file,
                                args.scale)
        out = args.out if args.out.lower().endswith(('.png', '.jpg')) else osp.join(args.out, 'pipeline.jpg')
        write_image(out, sheet)
        print(f'wrote {out}: {args.num} images x {args.repeats} augmented draws')
        return 0
    if not args.ann_file:
        raise SpineKeyError('give --ann-file (annotations/results) or --pipeline CONFIG (augmentation)')
    written = draw_annotation_files(args.ann_file, args.out, args.results, args.score_thr, args.img_prefix,
                                    args.num, args.scale)
    one_panel = args.out.lower().endswith(('.png', '.jpg'))
    print(f'wrote {args.out}' if one_panel else f'wrote {len(written)} images to {args.out}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
