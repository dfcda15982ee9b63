#!/usr/bin/env python
"""Convert a folder of DICOM radiographs to 8-bit PNGs (windowed: the file's window, else mean +- 2.5 SD of
the non-zero pixels; MONOCHROME1 inverted; central frame of multi-frame files). Pixel spacing goes to
OUT/pixel_spacing.json ({png name: [row_mm, col_mm]}) so it can be put into a COCO file's image entries.
Files that cannot be converted are listed with the reason; the rest still converts."""
from __future__ import annotations

import argparse
import sys

from tqdm import tqdm

from spinekey.io.dicom_export import dicom_folder_to_png
from spinekey.utils.cli import run_cli


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--src', required=True, help='folder with DICOM files (.dcm, .dicom or DICM magic), searched '
                   'recursively')
    p.add_argument('--out', required=True, help='folder for the PNGs and pixel_spacing.json')
    return p.parse_args()


@run_cli
def main() -> int:
    args = parse_args()
    run = dicom_folder_to_png(
        args.src, args.out,
        progress=lambda films: tqdm(films, desc='dicom->png', unit='file', file=sys.stderr, disable=len(films) < 20),
        on_skip=lambda line: print(f'skipped: {line}', file=sys.stderr))
    print(f'converted {len(run.spacing)} of {run.n_files} DICOM files into {args.out}'
          + (f'; {len(run.failed)} skipped (listed above)' if run.failed else ''))
    return 0 if run.spacing else 2


if __name__ == '__main__':
    raise SystemExit(main())
