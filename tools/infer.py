#!/usr/bin/env python
"""Run a trained SpineKey model on a folder of images or the images of a COCO file -> results.json.

Each results entry: image_id, file_name, category_id, bbox [x,y,w,h], score, segmentation (RLE) and
keypoints [x, y, score]*K in original image pixels. Without a COCO file, image_id is the index of the
image in sorted file order. With --ann-file and --images-dir, exactly the images the COCO file lists are
run (found in the folder by file name); folder images it does not list are left out and counted, listed
images missing from the folder are counted and written to skipped.txt.
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
from spinekey.io.annotated_images import locate_images, unlisted_images
from spinekey.io.images import list_images
from spinekey.io.safe_paths import one_line, output_names, path_inside
from spinekey.utils.cli import run_cli
from spinekey.utils.errors import SpineKeyError


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--config', required=True, help='model config (.py)')
    p.add_argument('--checkpoint', required=True, help='trained weights (.pth)')
    p.add_argument('--images-dir', help='folder of images (png/jpg/bmp/tif; other files are skipped); with '
                   '--ann-file, the folder its images are found in')
    p.add_argument('--ann-file', help='COCO file: run on exactly the images it lists (its image ids are kept)')
    p.add_argument('--img-prefix', default='', help='with --ann-file: same as --images-dir')
    p.add_argument('--out', required=True, help='results.json to write (atomically)')
    p.add_argument('--device', default='cpu', help='cpu or cuda:N (default cpu)')
    p.add_argument('--batch-size', type=int, default=1)
    p.add_argument('--num-workers', type=int, default=1, help='image reading/decoding workers')
    p.add_argument('--score-thr', type=float, default=0.05, help='drop detections below this score')
    p.add_argument('--save-vis', help='also write overlays (boxes, masks, numbered keypoints) to this folder')
    p.add_argument('--summary-csv', help='also write one row per image: vertebra count, boxes, keypoints')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, default=None,
                   help='override config keys, e.g. model.test_cfg.rcnn.score_thr=0.3')
    p.add_argument('--skip-bad-images', action='store_true',
                   help='skip unreadable images (listed in skipped.txt next to --out) instead of stopping')
    return p.parse_args()


def collect_inputs(args):
    """(paths, image_ids, file_names, messages about listed images that are missing) to run on."""
    if not args.ann_file:
        paths, others = list_images(args.images_dir)
        if others:
            print(f'skipping {len(others)} non-image file(s) in {args.images_dir}', file=sys.stderr)
        names = [osp.basename(p) for p in paths]
        return paths, list(range(len(paths))), names, []
    folder = args.images_dir or args.img_prefix or '.'
    gt = load_coco_gt(args.ann_file)
    found, missing = locate_images(sorted(gt['images'], key=lambda im: im['id']), folder)
    if not found:
        raise SpineKeyError(f'{args.ann_file}: none of its {len(gt["images"])} images is in {folder} '
                            '(looked up by file_name; set --images-dir to the folder that holds them)')
    if missing:
        print(f'warning: {len(missing)} image(s) listed in {args.ann_file} are not in {folder} (listed in '
              f'skipped.txt), e.g. {one_line(missing[0]["file_name"])}', file=sys.stderr)
    if args.images_dir and osp.isdir(args.images_dir):
        left_out = unlisted_images(args.images_dir, [path for _, path in found])
        if left_out:
            print(f'left out {len(left_out)} image(s) of {args.images_dir} that {args.ann_file} does not list; '
                  f'running on the {len(found)} it lists', file=sys.stderr)
    messages = [one_line(f'{im["file_name"]}: listed in {args.ann_file} but not found in {folder}')
                for im in missing]
    return ([path for _, path in found], [im['id'] for im, _ in found], [im['file_name'] for im, _ in found],
            messages)


def summary_csv(results, ids, names, skipped_ids) -> str:
    """One CSV row per image: id, file, vertebra count, boxes and keypoints as JSON lists."""
    import csv
    import io
    import json
    by_image = {i: [] for i in ids}
    for r in results:
        by_image[r['image_id']].append(r)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(['image_id', 'file_name', 'status', 'num_vertebrae', 'boxes_xywh', 'keypoints'])
    for image_id, name in zip(ids, names):
        dets = by_image[image_id]
        writer.writerow([image_id, name, 'skipped' if image_id in skipped_ids else 'ok', len(dets),
                         json.dumps([d['bbox'] for d in dets]), json.dumps([d.get('keypoints') for d in dets])])
    return buf.getvalue()


def run_shard(args, model, paths, ids, names, vis_names):
    """Inference over this process's share of the images: (results by image id, skipped messages)."""
    from spinekey.apis import instances_to_coco, iter_predictions
    from spinekey.datasets.keypoint_names import skeleton_for
    from spinekey.visualization import save_overlay
    name_of = dict(zip(paths, names))
    vis_name_of = dict(zip(paths, vis_names))
    skeleton = skeleton_for(len(model.dataset_meta.get('keypoint_names') or []))
    by_image, skipped = {}, {}
    stream = iter_predictions(model, paths, ids, batch_size=args.batch_size, num_workers=args.num_workers)
    for item, sample in tqdm(stream, total=len(paths), desc='inference', unit='img', file=sys.stderr):
        if sample is None:
            if not args.skip_bad_images:
                raise SpineKeyError(item['error'] + ' (use --skip-bad-images to go on without it)')
            print(f'skipped: {one_line(item["error"])}', file=sys.stderr)
            skipped[item['image_id']] = one_line(item['error'])
            continue
        by_image[item['image_id']] = instances_to_coco(sample.pred_instances, item['image_id'],
                                                       name_of[item['path']], args.score_thr)
        if args.save_vis:
            save_overlay(item['path'], by_image[item['image_id']],
                         path_inside(args.save_vis, vis_name_of[item['path']]), skeleton=skeleton)
    return by_image, skipped


def shard_info():
    """(rank, world size) under torchrun, starting the process group; (0, 1) otherwise."""
    world = int(os.environ.get('WORLD_SIZE', '1'))
    if world == 1:
        return 0, 1
    import torch
    import torch.distributed as dist
    if not dist.is_initialized():
        dist.init_process_group('nccl' if torch.cuda.is_available() else 'gloo')
    return dist.get_rank(), world


def gather(obj, world: int) -> list:
    """Every process's ``obj``; the process group is closed afterwards, because a gloo rank that exits with
    it still open aborts ("terminate called without an active exception") and fails the whole run."""
    if world == 1:
        return [obj]
    import torch.distributed as dist
    out = [None] * world
    dist.all_gather_object(out, obj)
    dist.barrier()
    dist.destroy_process_group()
    return out


@run_cli
def main() -> int:
    args = parse_args()
    if args.batch_size < 1:
        raise SpineKeyError(f'--batch-size must be >= 1, got {args.batch_size}')
    if not args.images_dir and not args.ann_file:
        raise SpineKeyError('give --images-dir (a folder of films) and/or --ann-file (the COCO file of the films '
                            'to run on)')
    paths, ids, names, missing = collect_inputs(args)
    if not paths:
        raise SpineKeyError(f'{args.images_dir or args.ann_file}: no images to run on')
    rank, world = shard_info()
    device = args.device
    if world > 1 and device.startswith('cuda'):
        device = f'cuda:{int(os.environ.get("LOCAL_RANK", 0))}'
    from spinekey.apis import init_model
    model = init_model(args.config, args.checkpoint, device=device, cfg_options=args.cfg_options)
    # images are dealt round-robin to the processes; the merge restores the single-process order
    shard = slice(rank, None, world)
    vis_names = output_names(names, '.png')  # the same on every process: the full list, in order
    by_image, skipped = run_shard(args, model, paths[shard], ids[shard], names[shard], vis_names[shard])
    parts = gather((by_image, skipped), world)
    if rank != 0:
        return 0
    for part_results, part_skipped in parts[1:]:
        by_image.update(part_results)
        skipped.update(part_skipped)
    results = [r for image_id in ids for r in by_image.get(image_id, [])]
    atomic_write_json(args.out, results)
    if args.summary_csv:
        atomic_write_text(args.summary_csv, summary_csv(results, ids, names, set(skipped)))
    if skipped or missing:
        messages = missing + [skipped[i] for i in ids if i in skipped]
        atomic_write_text(osp.join(osp.dirname(osp.abspath(args.out)), 'skipped.txt'), '\n'.join(messages) + '\n')
    print(f'wrote {len(results)} detections on {len(paths) - len(skipped)} images to {args.out}'
          + (f' ({world} processes)' if world > 1 else '')
          + (f'; skipped {len(skipped)} unreadable image(s), see skipped.txt' if skipped else '')
          + (f'; {len(missing)} listed image(s) not found, see skipped.txt' if missing else ''))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
