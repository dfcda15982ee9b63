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
import os.path as osp
import sys

from mmengine.config import DictAction

from spinekey.apis.infer_run import collect_films, infer_run, shard_device
from spinekey.io.atomic import protect_inputs
from spinekey.structures.results import DEFAULT_SCORE_THR
from spinekey.utils.cli import run_cli
from spinekey.utils.errors import SpineKeyError


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--config', required=True, help='model config (.py)')
    p.add_argument('--checkpoint', required=True, help='trained weights (.pth)')
    p.add_argument('--images-dir', help='folder of images (png/jpg/bmp/tif, DICOM with or without .dcm; other files '
                   'are skipped); with --ann-file, the folder its images are found in')
    p.add_argument('--recursive', action='store_true',
                   help='also run the images in the sub-folders of --images-dir (a PACS or CD export: patient/'
                   'study/series); results name each film by its path inside the folder (PAT1/IM0001)')
    p.add_argument('--ann-file', help='COCO file: run on exactly the images it lists (its image ids are kept)')
    p.add_argument('--img-prefix', default='', help='with --ann-file: same as --images-dir')
    p.add_argument('--out', required=True, help='results.json to write (atomically)')
    p.add_argument('--device', default='cpu', help='cpu or cuda:N (default cpu)')
    p.add_argument('--batch-size', type=int, default=1)
    p.add_argument('--num-workers', type=int, default=1, help='image reading/decoding workers')
    p.add_argument('--score-thr', type=float, default=DEFAULT_SCORE_THR,
                   help=f'drop detections below this score (default {DEFAULT_SCORE_THR})')
    p.add_argument('--save-vis', help='also write overlays (boxes, masks, numbered keypoints) to this folder')
    p.add_argument('--summary-csv', help='also write one row per image: vertebra count, boxes, keypoints')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, default=None,
                   help='override config keys, e.g. model.test_cfg.rcnn.score_thr=0.3')
    p.add_argument('--fp16', action='store_true',
                   help='backbone and neck in half precision (GPU only; boxes and corners still decoded in float32)')
    p.add_argument('--flip-test', action=argparse.BooleanOptionalAction, default=None,
                   help='also run each film mirrored and average the keypoints (twice the time; default: the '
                   "config's flip_test, off when it has none)")
    p.add_argument('--rotate-test', type=float, default=None, metavar='DEG',
                   help='also run each film turned by +DEG and -DEG degrees and average the keypoints (three times '
                   "the time; 4 is the AASCE recipe's; 0 turns it off; default: the config's rotate_test, off when "
                   'it has none)')
    p.add_argument('--refine-config', help='stage-2 refiner config (configs/refiner/...): re-place every '
                   "detection's keypoints on its own full-resolution patch (results keep keypoints_stage1)")
    p.add_argument('--refine-checkpoint', help='the refiner\'s weights (.pth), with --refine-config')
    p.add_argument('--refine-passes', type=int, default=None, help='refine the refined keypoints again (default: '
                   "the refiner config's, 1)")
    p.add_argument('--skip-bad-images', action='store_true',
                   help='skip unreadable images (listed in skipped.txt next to --out) instead of stopping')
    return p.parse_args()


@run_cli
def main() -> int:
    args = parse_args()
    protect_inputs({'--config': args.config, '--checkpoint': args.checkpoint, '--ann-file': args.ann_file,
                    '--refine-config': args.refine_config, '--refine-checkpoint': args.refine_checkpoint})
    if args.batch_size < 1:
        raise SpineKeyError(f'--batch-size must be >= 1, got {args.batch_size}')
    if not args.images_dir and not args.ann_file:
        raise SpineKeyError('give --images-dir (a folder of films) and/or --ann-file (the COCO file of the films '
                            'to run on)')
    outputs = [osp.dirname(osp.abspath(args.out))] + ([args.save_vis] if args.save_vis else [])
    films, notes = collect_films(args.images_dir or (args.img_prefix if args.ann_file else None), args.ann_file,
                                 args.recursive, skip_dirs=outputs)
    for line in notes:
        print(line, file=sys.stderr)
    if not films.paths:
        raise SpineKeyError(f'{args.images_dir or args.ann_file}: no images to run on')

    def make_inferencer():
        from spinekey.apis import SpineKeyInferencer
        return SpineKeyInferencer(args.config, args.checkpoint, device=shard_device(args.device),
                                  score_thr=args.score_thr, measure=False, batch_size=args.batch_size,
                                  num_workers=args.num_workers, cfg_options=args.cfg_options,
                                  flip_test=args.flip_test, fp16=args.fp16, rotate_test=args.rotate_test,
                                  refine_config=args.refine_config, refine_checkpoint=args.refine_checkpoint,
                                  refine_passes=args.refine_passes)
    run = infer_run(make_inferencer, films, args.out, args.summary_csv, args.skip_bad_images, args.save_vis,
                    on_skip=lambda line: print(f'skipped: {line}', file=sys.stderr))
    if run is None:  # another torchrun process: rank 0 writes
        return 0
    print(f'wrote {run.n_results} detections on {run.n_films} images to {args.out}'
          + (f' ({run.world} processes)' if run.world > 1 else '')
          + (f'; skipped {len(run.skipped)} unreadable image(s), see skipped.txt' if run.skipped else '')
          + (f'; {len(run.missing)} listed image(s) not found, see skipped.txt' if run.missing else ''))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
