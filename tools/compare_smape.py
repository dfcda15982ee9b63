#!/usr/bin/env python
"""Is run B's AASCE SMAPE really lower than run A's on the same films? A paired bootstrap over films.

A and B: a smape.json of tools/measure.py --aasce-smape (the angles measured on the column the run chose), or an
oracle_chain.json from the same command with --gt (the angles on the oracle chain: each true vertebra with its
own detection's corners, what the corners alone cost). Films are paired by file name; the interval is that of
the mean per-film difference B - A (negative: B is better). A gain whose interval holds zero is within what
this many films can tell apart (docs/aasce.md).

Several folds pool: give the files as pairs, A B for fold 0 then A B for fold 1 (each film counts once; a film
is paired within its own pair of files).

Example: python tools/compare_smape.py stage1/measure_best17/smape.json refined/measure_best17/smape.json
         python tools/compare_smape.py f0/plain/smape.json f0/refined/smape.json f1/plain/smape.json \
             f1/refined/smape.json   (two folds pooled)
"""
from __future__ import annotations

import argparse

from spinekey.io.atomic import atomic_write_json, protect_inputs
from spinekey.io.coco_files import read_json
from spinekey.utils.cli import run_cli
from spinekey.utils.errors import SpineKeyError


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('files', nargs='+', metavar='A B', help='smape.json or oracle_chain.json of run A (the reference), '
                   'then of run B on the same films; more pairs (other folds) are pooled')
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
        raise SpineKeyError(f'{path}: not a smape.json or oracle_chain.json of tools/measure.py (an image without '
                            f'file_name, {key} or true angles)') from None


@run_cli
def main() -> int:
    args = parse_args()
    if len(args.files) % 2:
        raise SpineKeyError(f'give the files in pairs, A then B (one pair a fold); got {len(args.files)} files')
    protect_inputs({f'file {k + 1}': f for k, f in enumerate(args.files)})
    if args.draws < 100:
        raise SpineKeyError(f'--draws must be 100 or more, got {args.draws}')
    if not 0.5 <= args.level < 1:
        raise SpineKeyError(f'--level must be in [0.5, 1), got {args.level}')
    from spinekey.evaluation.paired_smape import paired_smape_difference
    runs = [read_angles(f) for f in args.files]  # (kind, names, predicted, true) of each file
    pairs = list(zip(args.files[0::2], args.files[1::2]))
    a, b = ([], [], []), ([], [], [])
    for k, (path_a, path_b) in enumerate(pairs):
        run_a, run_b = runs[2 * k], runs[2 * k + 1]
        if not set(run_a[1]) & set(run_b[1]):
            raise SpineKeyError(f'{path_a} vs {path_b}: no film in common (paired by file name)')
        for side, (_, names, pred, true) in ((a, run_a), (b, run_b)):
            side[0].extend(f'{k}:{n}' for n in names)  # a film is paired within its own pair of files
            side[1].extend(pred)
            side[2].extend(true)
    try:
        r = paired_smape_difference(*a, *b, draws=args.draws, level=args.level)
    except ValueError as err:  # 'K:name' names pair K's film
        raise SpineKeyError(f'{err} (pair K:film of the files given)') from None
    kind_a, kind_b = runs[0][0], runs[1][0]
    lo, hi = r['interval']
    verdict = ('B is better' if hi < 0 else 'A is better' if lo > 0 else
               'no difference this many films can show')
    pooled = f' over {len(pairs)} pairs of files, pooled' if len(pairs) > 1 else ''
    print(f'{r["n_films"]} films in common{pooled} ({r["only_in_a"]} only in A, {r["only_in_b"]} only in B)')
    print(f'A ({kind_a}): SMAPE {r["smape_a"]:.2f}%   B ({kind_b}): SMAPE {r["smape_b"]:.2f}%')
    print(f'B - A: {r["difference"]:+.2f} points, {100 * args.level:.0f}% interval [{lo:+.2f}, {hi:+.2f}] '
          f'(paired bootstrap over films, {args.draws} draws); B lower on {r["b_better"]} films, A on '
          f'{r["a_better"]}: {verdict}')
    if args.out:
        atomic_write_json(args.out, dict(r, pairs=[list(p) for p in pairs], kind_a=kind_a, kind_b=kind_b), indent=1)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
