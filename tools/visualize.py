#!/usr/bin/env python
"""Draw annotations (a COCO file) or predictions (results.json) on their images; or, with --pipeline CONFIG,
samples after the config's training augmentation, to check that keypoints stay on their anatomy."""
from __future__ import annotations

import argparse
import os
import os.path as osp

import cv2
import numpy as np

from spinekey.io.atomic import protect_inputs
from spinekey.io.coco_files import load_coco_gt, load_results
from spinekey.io.images import read_image
from spinekey.structures.keypoint_names import skeleton_for
from spinekey.utils.cli import run_cli
from spinekey.utils.errors import SpineKeyError
from spinekey.visualization import draw_instances


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
    p.add_argument('--score-thr', type=float, default=0.3)
    p.add_argument('--out', required=True, help='output folder, or a .png/.jpg for one side-by-side panel')
    p.add_argument('--num', type=int, default=3, help='how many images (first N by id)')
    p.add_argument('--scale', type=int, default=1, help='enlarge images before drawing')
    return p.parse_args()


def augmented_panels(args):
    """For each of the first --num training images, --repeats augmented draws side by side."""
    from mmdet.registry import DATASETS
    from mmdet.utils import register_all_modules

    import spinekey  # noqa: F401  (registers the transforms)
    from spinekey.utils.cli import load_config
    register_all_modules()
    cfg = load_config(args.pipeline)
    ds_cfg = cfg.train_dataloader.dataset
    if args.data_root:
        ds_cfg.data_root = args.data_root.rstrip('/') + '/'
    if args.ann_file:
        ds_cfg.ann_file = args.ann_file
    ds_cfg.pipeline = [t for t in ds_cfg.pipeline if t['type'] != 'PackSpineInputs']
    ds = DATASETS.build(ds_cfg)
    skeleton = skeleton_for(len(ds.metainfo.get('keypoint_names') or []))
    np.random.seed(args.seed)
    panels = []
    for i in range(min(args.num, len(ds))):
        row = []
        for _ in range(args.repeats):
            sample = ds.prepare_data(i)
            boxes = sample['gt_bboxes'].numpy() if hasattr(sample['gt_bboxes'], 'numpy') else sample['gt_bboxes']
            instances = [{'bbox': [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])],
                          'keypoints': [float(v) for v in k.reshape(-1)]}
                         for b, k in zip(np.asarray(boxes), sample['gt_keypoints'])]
            img = np.ascontiguousarray(sample['img']).astype(np.uint8)
            row.append(draw_instances(img, instances, skeleton, scale=args.scale))
        height = max(p.shape[0] for p in row)
        panels.append(np.hstack([cv2.copyMakeBorder(p, 0, height - p.shape[0], 0, 4, cv2.BORDER_CONSTANT)
                                 for p in row]))
    width = max(p.shape[1] for p in panels)
    return np.vstack([cv2.copyMakeBorder(p, 0, 4, 0, width - p.shape[1], cv2.BORDER_CONSTANT) for p in panels])


@run_cli
def main() -> int:
    args = parse_args()
    protect_inputs({'--ann-file': args.ann_file, '--results': args.results})
    if args.pipeline:
        sheet = augmented_panels(args)
        out = args.out if args.out.lower().endswith(('.png', '.jpg')) else osp.join(args.out, 'pipeline.jpg')
        os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
        cv2.imwrite(out, sheet, [cv2.IMWRITE_JPEG_QUALITY, 85])
        print(f'wrote {out}: {args.num} images x {args.repeats} augmented draws')
        return 0
    if not args.ann_file:
        raise SpineKeyError('give --ann-file (annotations/results) or --pipeline CONFIG (augmentation)')
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
