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

from spinekey.io.atomic import atomic_write_text, protect_inputs
from spinekey.apis.batch import FilmSpool, films_in_folder, films_of_coco, gather, shard_info, write_results
from spinekey.io.images import list_images
from spinekey.io.safe_paths import one_line, output_names, path_inside
from spinekey.utils.cli import run_cli
from spinekey.utils.errors import SpineKeyError
from spinekey.structures.results import DEFAULT_SCORE_THR


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


def collect_films(args):
    """The films to run (spinekey.apis.batch), with what was left out said on stderr."""
    if not args.ann_file:
        outputs = [osp.dirname(osp.abspath(args.out))] + ([args.save_vis] if args.save_vis else [])
        films = films_in_folder(args.images_dir, args.recursive, skip_dirs=outputs)
        if films.non_images:
            print(f'skipping {films.non_images} non-image file(s) in {args.images_dir}', file=sys.stderr)
        if not args.recursive:
            nested = len(list_images(args.images_dir, recursive=True, skip_dirs=outputs)[0]) - len(films.paths)
            if nested and not films.paths:
                raise SpineKeyError(f'{args.images_dir}: no images in the folder itself, {nested} in its sub-folders '
                                    '(pass --recursive to run them; inference.sh: --recursive)')
            if nested:
                print(f'note: running the {len(films.paths)} film(s) in {args.images_dir} itself; {nested} more sit in '
                      'its sub-folders and are not run (pass --recursive to run them too)', file=sys.stderr)
        return films
    folder = args.images_dir or args.img_prefix or '.'
    if args.recursive:
        print(f'note: --recursive has no effect with --ann-file (its file_names say where each film is in {folder})',
              file=sys.stderr)
    films = films_of_coco(args.ann_file, folder)
    if films.missing:
        print(f'warning: {len(films.missing)} image(s) listed in {args.ann_file} are not in {folder} (listed in '
              f'skipped.txt), e.g. {films.missing[0].split(": listed in")[0]}', file=sys.stderr)
    if films.left_out:
        print(f'left out {films.left_out} image(s) of {folder} that {args.ann_file} does not list; '
              f'running on the {len(films.paths)} it lists', file=sys.stderr)
    return films


def run_shard(args, paths, ids, names, vis_names):
    """This process's share of the films through SpineKeyInferencer: (spooled results, skipped messages)."""
    from spinekey.apis import SpineKeyInferencer
    from spinekey.structures.keypoint_names import skeleton_for
    from spinekey.visualization import save_overlay
    device = args.device
    if int(os.environ.get('WORLD_SIZE', '1')) > 1 and device.startswith('cuda'):
        device = f'cuda:{int(os.environ.get("LOCAL_RANK", 0))}'
    sk = SpineKeyInferencer(args.config, args.checkpoint, device=device, score_thr=args.score_thr, measure=False,
                            batch_size=args.batch_size, num_workers=args.num_workers, cfg_options=args.cfg_options,
                            flip_test=args.flip_test, fp16=args.fp16, rotate_test=args.rotate_test,
                            refine_config=args.refine_config, refine_checkpoint=args.refine_checkpoint,
                            refine_passes=args.refine_passes)
    skeleton = skeleton_for(len(sk.keypoint_names))
    vis_name_of = dict(zip(ids, vis_names))
    spool, skipped = FilmSpool(), {}
    for film in tqdm(sk.iter(paths, ids, names), total=len(paths), desc='inference', unit='img', file=sys.stderr):
        if not film.ok:
            if not args.skip_bad_images:
                raise SpineKeyError(film.error + ' (use --skip-bad-images to go on without it)')
            print(f'skipped: {one_line(film.error)}', file=sys.stderr)
            skipped[film.image_id] = one_line(film.error)
            continue
        spool.add(film.image_id, film.detections)
        if args.save_vis:
            save_overlay(film.path, film.detections, path_inside(args.save_vis, vis_name_of[film.image_id]),
                         skeleton=skeleton)
    return spool, skipped


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
    films = collect_films(args)
    paths, ids, names, missing = films.paths, films.image_ids, films.names, films.missing
    if not paths:
        raise SpineKeyError(f'{args.images_dir or args.ann_file}: no images to run on')
    rank, world = shard_info()
    # images are dealt round-robin to the processes; the merge restores the single-process order
    shard = slice(rank, None, world)
    vis_names = output_names(names, '.png')  # the same on every process: the full list, in order
    spool, skipped = run_shard(args, paths[shard], ids[shard], names[shard], vis_names[shard])
    texts = {}
    if world > 1:  # the other processes' films come to rank 0 as JSON text (compact, and only at the end)
        parts = gather((spool.texts() if rank else {}, skipped), world)
        if rank != 0:
            return 0
        for part_texts, part_skipped in parts[1:]:
            texts.update(part_texts)
            skipped.update(part_skipped)
    n_results = write_results(args.out, args.summary_csv, films,
                              lambda i: spool.text(i) if i in spool.index else texts.get(i), set(skipped))
    if skipped or missing:
        messages = missing + [skipped[i] for i in ids if i in skipped]
        atomic_write_text(osp.join(osp.dirname(osp.abspath(args.out)), 'skipped.txt'), '\n'.join(messages) + '\n')
    print(f'wrote {n_results} detections on {len(paths) - len(skipped)} images to {args.out}'
          + (f' ({world} processes)' if world > 1 else '')
          + (f'; skipped {len(skipped)} unreadable image(s), see skipped.txt' if skipped else '')
          + (f'; {len(missing)} listed image(s) not found, see skipped.txt' if missing else ''))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
