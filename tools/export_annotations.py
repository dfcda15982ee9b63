#!/usr/bin/env python
"""Export predictions for correction by hand: one labelme JSON per film (--to labelme) or a GT-style COCO
file (--to coco, e.g. for CVAT).

Each vertebra becomes a polygon through its keypoints (label: its level) and one named point per keypoint,
grouped by group_id; vertebrae to look at (score or a keypoint score below --review-below) carry the labelme
flag "review" and the reason in their description. Fix them in labelme, then bring them back as training
data with `python tools/convert_dataset.py --from labelme --src OUT --out train.json`.
"""
from __future__ import annotations

import argparse
import os

from spinekey.io.atomic import atomic_write_json, protect_inputs
from spinekey.io.coco_files import load_coco_gt, load_results
from spinekey.io.safe_paths import output_names, path_inside
from spinekey.utils.cli import run_cli
from spinekey.utils.errors import SpineKeyError
from spinekey.structures.results import DEFAULT_SCORE_THR


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--results', required=True, help='results.json from tools/infer.py or inference.sh')
    p.add_argument('--to', required=True, choices=('labelme', 'coco'), help='labelme JSON per film, or one COCO')
    p.add_argument('--out', required=True, help='labelme: folder of JSON files; coco: the COCO file to write')
    p.add_argument('--images-dir', help='folder of the films (image sizes; labelme imagePath points at them)')
    p.add_argument('--gt', help='COCO file giving image sizes and keypoint names instead of --images-dir')
    p.add_argument('--keypoint-names', help='keypoint order of the results, comma separated (default: from --gt, '
                   'else the 4-corner or 6-point set)')
    p.add_argument('--score-thr', type=float, default=DEFAULT_SCORE_THR,
                   help=f'export detections with score >= T (default {DEFAULT_SCORE_THR})')
    p.add_argument('--review-below', type=float, default=0.5,
                   help='mark a vertebra for review when its score or a keypoint score is below this (default 0.5)')
    levels = p.add_mutually_exclusive_group()
    levels.add_argument('--bottom-level', help='level of the lowest vertebra (e.g. L5): labels the vertebrae')
    levels.add_argument('--top-level', help='level of the highest vertebra')
    return p.parse_args()


@run_cli
def main() -> int:
    args = parse_args()
    protect_inputs({'--results': args.results, '--gt': args.gt})
    from spinekey.converters.export import film_sizes, film_vertebrae, to_coco, to_labelme
    from spinekey.structures.results import resolve_keypoint_names
    results = load_results(args.results)
    if not results:
        raise SpineKeyError(f'{args.results}: no detections to export')
    gt = load_coco_gt(args.gt) if args.gt else None
    k = len(results[0].get('keypoints') or []) // 3
    categories = gt['categories'] if gt else []
    try:
        names = resolve_keypoint_names(k, args.keypoint_names.split(',') if args.keypoint_names else None,
                                       categories[0].get('keypoints') if categories else None)
    except ValueError as err:
        raise SpineKeyError(f'{args.results}: {err}') from None
    films = film_vertebrae(results, names, args.score_thr, args.review_below, args.bottom_level, args.top_level)
    sizes = film_sizes(films, args.images_dir, gt, source=args.results)
    n_review = sum(bool(v.review) for vs in films.values() for v in vs)
    if args.to == 'coco':
        atomic_write_json(args.out, to_coco(films, {f: s[:2] for f, s in sizes.items()}, names), indent=1)
        print(f'wrote {args.out}: {len(films)} films, {sum(map(len, films.values()))} vertebrae '
              f'({n_review} marked for review)')
        return 0
    film_list = sorted(films)
    for film, name in zip(film_list, output_names(film_list, '.json', flat=True)):
        out_path = path_inside(args.out, name)
        width, height, image = sizes[film]
        image_path = os.path.relpath(image, os.path.dirname(out_path)) if image else film
        atomic_write_json(out_path, to_labelme(films[film], image_path, width, height), indent=1)
    print(f'wrote {len(film_list)} labelme files to {args.out} ({n_review} vertebrae marked for review); '
          f'bring them back with: python tools/convert_dataset.py --from labelme --src {args.out} --out train.json')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
