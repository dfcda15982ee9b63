#!/usr/bin/env python
"""Draw annotations (a COCO file) or predictions (results.json with --gt for names) on their images."""
from __future__ import annotations

import argparse
import os
import os.path as osp

import cv2
import numpy as np

from spinekey.io.coco_files import load_coco_gt, load_results
from spinekey.io.images import read_image
from spinekey.utils.cli import run_cli
from spinekey.visualization import draw_instances


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--ann-file', required=True, help='COCO file: drawn itself, or the GT of --results')
    p.add_argument('--img-prefix', default='', help='folder the file_name entries are relative to')
    p.add_argument('--results', help='results.json to draw instead of the annotations')
    p.add_argument('--score-thr', type=float, default=0.3)
    p.add_argument('--out', required=True, help='output folder, or a .png/.jpg for one side-by-side panel')
    p.add_argument('--num', type=int, default=3, help='how many images (first N by id)')
    p.add_argument('--scale', type=int, default=1, help='enlarge images before drawing')
    return p.parse_args()


@run_cli
def main() -> int:
    args = parse_args()
    gt = load_coco_gt(args.ann_file)
    skeleton = gt['categories'][0].get('skeleton') if gt['categories'] else None
    if args.results:
        instances = [r for r in load_results(args.results) if r['score'] >= args.score_thr]
    else:
        instances = gt['annotations']
    panels = []
    for im in sorted(gt['images'], key=lambda i: i['id'])[:args.num]:
        img = read_image(osp.join(args.img_prefix, im['file_name']))
        drawn = draw_instances(img, [i for i in instances if i['image_id'] == im['id']], skeleton,
                               scale=args.scale)
        panels.append(np.hstack([cv2.resize(img, drawn.shape[1::-1]), drawn]))
    if args.out.lower().endswith(('.png', '.jpg')):
        height = max(p.shape[0] for p in panels)
        panels = [cv2.copyMakeBorder(p, 0, height - p.shape[0], 0, 4, cv2.BORDER_CONSTANT) for p in panels]
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        cv2.imwrite(args.out, np.hstack(panels), [cv2.IMWRITE_JPEG_QUALITY, 80])
        print(f'wrote {args.out}')
    else:
        os.makedirs(args.out, exist_ok=True)
        for im, panel in zip(sorted(gt['images'], key=lambda i: i['id']), panels):
            cv2.imwrite(osp.join(args.out, osp.basename(im['file_name'])), panel)
        print(f'wrote {len(panels)} images to {args.out}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
