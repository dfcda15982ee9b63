#!/usr/bin/env python
"""Run a trained SpineKey model on a folder of images or the images of a COCO file -> results.json.

Each results entry: image_id, file_name, category_id, bbox [x,y,w,h], score, segmentation (RLE) and
keypoints [x, y, score]*K in original image pixels. Without a COCO file, image_id is the index of the
image in sorted file order.
"""
from __future__ import annotations

import argparse
import os

from mmengine.config import DictAction
import os.path as osp
import sys

from tqdm import tqdm

from spinekey.io.atomic import atomic_write_json, atomic_write_text
from spinekey.io.coco_files import load_coco_gt
from spinekey.io.images import list_images
from spinekey.utils.cli import run_cli
from spinekey.utils.errors import SpineKeyError


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--config', required=True, help='model config (.py)')
    p.add_argument('--checkpoint', required=True, help='trained weights (.pth)')
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument('--images-dir', help='folder of images (png/jpg/bmp/tif); other files are skipped')
    src.add_argument('--ann-file', help='COCO file whose images to run on (ids are kept)')
    p.add_argument('--img-prefix', default='', help='folder that COCO file_name entries are relative to')
    p.add_argument('--out', required=True, help='results.json to write (atomically)')
    p.add_argument('--device', default='cpu', help='cpu or cuda:N (default cpu)')
    p.add_argument('--batch-size', type=int, default=1)
    p.add_argument('--num-workers', type=int, default=1, help='image reading/decoding workers')
    p.add_argument('--score-thr', type=float, default=0.05, help='drop detections below this score')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, default=None,
                   help='override config keys, e.g. model.test_cfg.rcnn.score_thr=0.3')
    p.add_argument('--skip-bad-images', action='store_true',
                   help='skip unreadable images (listed in skipped.txt next to --out) instead of stopping')
    return p.parse_args()


def collect_inputs(args):
    """(paths, image_ids, file_names) of the images to run on."""
    if args.images_dir:
        paths, others = list_images(args.images_dir)
        if others:
            print(f'skipping {len(others)} non-image file(s) in {args.images_dir}', file=sys.stderr)
        names = [osp.basename(p) for p in paths]
        return paths, list(range(len(paths))), names
    gt = load_coco_gt(args.ann_file)
    images = sorted(gt['images'], key=lambda im: im['id'])
    return ([osp.join(args.img_prefix, im['file_name']) for im in images], [im['id'] for im in images],
            [im['file_name'] for im in images])


@run_cli
def main() -> int:
    args = parse_args()
    if args.batch_size < 1:
        raise SpineKeyError(f'--batch-size must be >= 1, got {args.batch_size}')
    paths, ids, names = collect_inputs(args)
    if not paths:
        raise SpineKeyError(f'{args.images_dir or args.ann_file}: no images to run on')
    from spinekey.apis import init_model, instances_to_coco, iter_predictions
    model = init_model(args.config, args.checkpoint, device=args.device, cfg_options=args.cfg_options)
    name_of = dict(zip(paths, names))
    results, skipped = [], []
    stream = iter_predictions(model, paths, ids, batch_size=args.batch_size, num_workers=args.num_workers)
    for item, sample in tqdm(stream, total=len(paths), desc='inference', unit='img', file=sys.stderr):
        if sample is None:
            if not args.skip_bad_images:
                raise SpineKeyError(item['error'] + ' (use --skip-bad-images to go on without it)')
            print(f'skipped: {item["error"]}', file=sys.stderr)
            skipped.append(item['error'])
            continue
        results += instances_to_coco(sample.pred_instances, item['image_id'], name_of[item['path']],
                                     args.score_thr)
    atomic_write_json(args.out, results)
    if skipped:
        atomic_write_text(osp.join(osp.dirname(osp.abspath(args.out)), 'skipped.txt'), '\n'.join(skipped) + '\n')
    print(f'wrote {len(results)} detections on {len(paths) - len(skipped)} images to {args.out}'
          + (f'; skipped {len(skipped)} unreadable image(s), see skipped.txt' if skipped else ''))
    return 0


if __name__ == '__main__':
    os.environ.setdefault('OMP_NUM_THREADS', str(os.cpu_count() or 1))
    raise SystemExit(main())
