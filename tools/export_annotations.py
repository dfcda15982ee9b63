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

from spinekey.converters.export import export_annotations
from spinekey.io.atomic import protect_inputs
from spinekey.structures.results import DEFAULT_SCORE_THR
from spinekey.utils.cli import run_cli


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
    run = export_annotations(args.results, args.out, args.to, gt_path=args.gt, images_dir=args.images_dir,
                             keypoint_names=args.keypoint_names.split(',') if args.keypoint_names else None,
                             score_thr=args.score_thr, review_below=args.review_below,
                             bottom_level=args.bottom_level, top_level=args.top_level)
    if args.to == 'coco':
        print(f'wrote {args.out}: {run.n_films} films, {run.n_vertebrae} vertebrae ({run.n_review} marked for review)')
    else:
        print(f'wrote {run.files} labelme files to {args.out} ({run.n_review} vertebrae marked for review); '
              f'bring them back with: python tools/convert_dataset.py --from labelme --src {args.out} --out train.json')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
