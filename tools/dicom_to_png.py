#!/usr/bin/env python
"""Convert a folder of DICOM radiographs to 8-bit PNGs (windowed: the file's window, else mean +- 2.5 SD of
the non-zero pixels; MONOCHROME1 inverted; central frame of multi-frame files). Pixel spacing goes to
OUT/pixel_spacing.json ({png name: [row_mm, col_mm]}) so it can be put into a COCO file's image entries.
Files that cannot be converted are listed with the reason; the rest still converts."""
from __future__ import annotations

import argparse
import os
import sys

import cv2
from tqdm import tqdm

from spinekey.io.atomic import atomic_write_bytes, atomic_write_json
from spinekey.io.safe_paths import one_line, output_names, path_inside
from spinekey.io.dicom import is_dicom, read_dicom
from spinekey.utils.cli import run_cli
from spinekey.utils.errors import SpineKeyError


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--src', required=True, help='folder with DICOM files (.dcm, .dicom or DICM magic), searched '
                   'recursively')
    p.add_argument('--out', required=True, help='folder for the PNGs and pixel_spacing.json')
    return p.parse_args()


@run_cli
def main() -> int:
    args = parse_args()
    if not os.path.isdir(args.src):
        raise SpineKeyError(f'{args.src}: folder not found')
    files = sorted(os.path.join(root, name) for root, _, names in os.walk(args.src) for name in names
                   if is_dicom(os.path.join(root, name)))
    if not files:
        raise SpineKeyError(f'{args.src}: no DICOM files found')
    spacing, failed = {}, []
    # a.dcm and an extension-less a are two films: distinct PNG names, never one over the other
    out_names = output_names([os.path.relpath(path, args.src) for path in files], '.png')
    for path, rel in tqdm(zip(files, out_names), total=len(files), desc='dicom->png', unit='file',
                          file=sys.stderr, disable=len(files) < 20):
        try:
            image, px = read_dicom(path)
        except SpineKeyError as err:
            failed.append(one_line(err))
            print(f'skipped: {one_line(err)}', file=sys.stderr)
            continue
        ok, buf = cv2.imencode('.png', image)
        atomic_write_bytes(path_inside(args.out, rel), buf.tobytes())
        spacing[rel] = px
    atomic_write_json(os.path.join(args.out, 'pixel_spacing.json'), spacing, indent=1)
    print(f'converted {len(spacing)} of {len(files)} DICOM files into {args.out}'
          + (f'; {len(failed)} skipped (listed above)' if failed else ''))
    return 0 if spacing else 2


if __name__ == '__main__':
    raise SystemExit(main())
