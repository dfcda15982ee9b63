#!/usr/bin/env python
"""Split a COCO file into k folds (fold{i}_train.json / fold{i}_val.json) or into named parts by ratio.

Fixed by --seed; a patient's images never straddle two parts (--group-by, default the image entry's
patient_id when present); --stratify-by balances an image-entry field (e.g. hardware) across parts.
split.json records which file went where, so the split is documented and reproducible.
"""
from __future__ import annotations

import argparse

from spinekey.io.atomic import protect_inputs
from spinekey.io.coco_files import load_coco_gt
from spinekey.converters.splits import write_split
from spinekey.utils.cli import run_cli
from spinekey.utils.errors import SpineKeyError


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--ann', required=True, help='COCO file to split')
    p.add_argument('--out-dir', required=True, help='folder for the split files')
    mode = p.add_mutually_exclusive_group()
    mode.add_argument('--folds', type=int, default=5, help='number of cross-validation folds (default 5)')
    mode.add_argument('--ratios', help='named parts instead of folds, e.g. train=0.8,val=0.1,test=0.1')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--group-by', default='patient_id',
                   help='image field holding the patient id (images without it are grouped by file name)')
    p.add_argument('--strict', action='store_true', help='annotation warnings and a film listed twice become errors')
    p.add_argument('--stratify-by', help='image field to balance across the parts')
    return p.parse_args()


def parse_ratios(text: str):
    try:
        pairs = [item.split('=') for item in text.split(',')]
        return [name.strip() for name, _ in pairs], [float(v) for _, v in pairs]
    except ValueError:
        raise SpineKeyError(f'--ratios {text!r}: expected name=fraction pairs, e.g. train=0.8,val=0.2') from None


@run_cli
def main() -> int:
    args = parse_args()
    protect_inputs({'--ann': args.ann})
    coco = load_coco_gt(args.ann, strict=args.strict)
    written = write_split(coco, args.ann, args.out_dir, folds=args.folds,
                          ratios=parse_ratios(args.ratios) if args.ratios else None, seed=args.seed,
                          group_by=args.group_by, stratify_by=args.stratify_by)
    for name, n, n_val in written:
        print(f'{name}.json: {n} images' if n_val is None else f'{name}: {n} train / {n_val} val images')
    print(f'wrote {args.out_dir}/split.json')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
