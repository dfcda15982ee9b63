#!/usr/bin/env python
"""Write OUT_DIR/report.html for a finished inference.sh run folder: films (sortable, filterable, review-
flagged first), overlays (thumbnails, click for full size), per-vertebra measurements, metrics against
ground truth and the evaluation and cohort figures. Opens from file:// with no network.
"""
from __future__ import annotations

import argparse
import time

from spinekey.utils.cli import run_cli


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('out_dir', help='an inference.sh output folder (with results.json)')
    p.add_argument('--score-thr', type=float, default=0.3, help='count detections with score >= T (default 0.3)')
    p.add_argument('--title', help='page title (default: the folder name)')
    p.add_argument('--out', help='folder to write report.html and its thumbnails to (default: OUT_DIR itself; '
                   'use another when the run folder is read-only); the page links the run\'s overlays')
    return p.parse_args()


@run_cli
def main() -> int:
    args = parse_args()
    from spinekey.visualization.report import write_report
    start = time.perf_counter()
    path = write_report(args.out_dir, args.score_thr, args.title, page_dir=args.out)
    print(f'wrote {path} in {time.perf_counter() - start:.1f} s')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
