#!/usr/bin/env python
"""Is run B's AASCE SMAPE really lower than run A's on the same films? A paired bootstrap over films.

A and B: a smape.json of tools/measure.py --aasce-smape (the angles measured on the column the run chose), or an
oracle_chain.json from the same command with --gt (the angles on the oracle chain: each true vertebra with its
own detection's corners, what the corners alone cost). Films are paired by file name; the interval is that of
the mean per-film difference B - A (negative: B is better). A gain whose interval holds zero is within what
this many films can tell apart (docs/aasce.md).

Example: python tools/compare_smape.py stage1/measure_best17/smape.json refined/measure_best17/smape.json
"""
from __future__ import annotations

import argparse

from spinekey.io.atomic import atomic_write_json, protect_inputs
from spinekey.io.coco_files import read_json
from spinekey.utils.cli import run_cli
from spinekey.utils.errors import SpineKeyError


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('a', help='smape.json or oracle_chain.json of run A (the reference)')
    p.add_argument('b', help='smape.json or oracle_chain.json of run B, on the same films')
    p.add_argument('--draws', type=int, default=2000, help='bootstrap draws (default 2000)')
    p.add_argument('--level', type=float, default=0.95, help='level of the interval (default 0.95)')
    p.add_argument('--out', help='also write the result as JSON')
    return p.parse_args()


def read_angles(path: str):
    """(kind, file names, predicted, true): a smape.json's angles, or an oracle_chain.json's oracle ones."""
    data = read_json(path, 'SMAPE file')
    images = data.get('images') if isinstance(data, dict) else None
    if not isinstance(images, list) or not images:
        raise SpineKeyError(f'{path}: not a smape.json or oracle_chain.json of tools/measure.py (no "images")')
    key = 'pred_oracle_chain' if 'smape_oracle_chain' in data else 'pred'
    try:
        return (('oracle chain' if key != 'pred' else 'shipped column'), [im['file_name'] for im in images],
                [im[key] for im in images], [im['true'] for im in images])
    except (KeyError, TypeError):
        raise SpineKeyError(f'{path}: an image without file_name, {key} or true angles') from None


@run_cli
def main() -> int:
    args = parse_args()
    protect_inputs({'a': args.a, 'b': args.b})
    if args.draws < 100:
        raise SpineKeyError(f'--draws must be 100 or more, got {args.draws}')
    if not 0.5 <= args.level < 1:
        raise SpineKeyError(f'--level must be in [0.5, 1), got {args.level}')
    from spinekey.evaluation.paired_smape import paired_smape_difference
    kind_a, *a = read_angles(args.a)
    kind_b, *b = read_angles(args.b)
    try:
        r = paired_smape_difference(*a, *b, draws=args.draws, level=args.level)
    except ValueError as err:
        raise SpineKeyError(f'{args.a} vs {args.b}: {err}') from None
    lo, hi = r['interval']
    verdict = ('B is better' if hi < 0 else 'A is better' if lo > 0 else
               'no difference this many films can show')
    print(f'{r["n_films"]} films in common ({r["only_in_a"]} only in A, {r["only_in_b"]} only in B)')
    print(f'A ({kind_a}): SMAPE {r["smape_a"]:.2f}%   B ({kind_b}): SMAPE {r["smape_b"]:.2f}%')
    print(f'B - A: {r["difference"]:+.2f} points, {100 * args.level:.0f}% interval [{lo:+.2f}, {hi:+.2f}] '
          f'(paired bootstrap over films, {args.draws} draws); B lower on {r["b_better"]} films, A on '
          f'{r["a_better"]}: {verdict}')
    if args.out:
        atomic_write_json(args.out, dict(r, a=args.a, b=args.b, kind_a=kind_a, kind_b=kind_b), indent=1)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
