#!/usr/bin/env python
"""Clinical measurements from vertebra keypoints: heights, ratios, Genant grade, slip and Meyerding grade per
vertebra; Cobb angle (with end vertebrae), lordosis and, for AP scoliosis films, the AASCE Cobb angles per
image. Input: a results.json from tools/infer.py or a COCO ground-truth file (detected automatically).

Writes OUT/measurements.csv (one row per vertebra), OUT/images.csv (one row per image), OUT/measurements.json
(both); --cohort adds cohort.csv/cohort.png; --save_vis draws the measurements on each film (OUT/vis/);
--aasce-smape scores the AASCE angles against the ones stored in the GT (OUT/smape.json); with --gt also the
gross failures and how many QC's review holds (OUT/gross_failures.json), and the SMAPE on the oracle chain (each
true vertebra measured with its own detection's corners) with the chain's cost (OUT/oracle_chain.json).
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace

from spinekey.apis.measure_run import measure_run, options_from_files, parse_custom_measures
from spinekey.io.atomic import protect_inputs
from spinekey.measurement.aasce import AASCE_ANGLES
from spinekey.measurement.end_completion import EndCompletion
from spinekey.measurement.options import MeasureOptions
from spinekey.measurement.uncertainty import DEFAULT_SAMPLES
from spinekey.structures.results import DEFAULT_SCORE_THR
from spinekey.utils.cli import run_cli


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--input', required=True, help='results.json or COCO ground-truth file')
    p.add_argument('--out', required=True, help='output folder')
    p.add_argument('--images-dir', help='folder the file names are relative to (for --save_vis and '
                   '--anterior auto; default: the input file\'s folder)')
    p.add_argument('--score-thr', type=float, default=DEFAULT_SCORE_THR,
                   help=f'keep predictions with score >= T (default {DEFAULT_SCORE_THR})')
    p.add_argument('--gt', help='with a results.json: COCO file giving image sizes, pixel spacing and AASCE '
                   'angles (paired by file name)')
    p.add_argument('--keypoint-names', help='keypoint order of the results, comma separated (default: from '
                   '--gt, else the 4-corner or 6-point set)')
    p.add_argument('--anterior', choices=('auto', 'left', 'right'), default='auto',
                   help='anterior image side on lateral films; auto reads it from the image (default)')
    p.add_argument('--view', choices=('lateral', 'ap'),
                   help='the films\' view: ap (AP or PA) leaves out the lateral-film measures (Genant and Meyerding '
                   'grades, slip, lordosis); default: --qc-config\'s view = ..., else a DICOM film\'s '
                   'ViewPosition tag, else ap with --aasce, else lateral')
    levels = p.add_mutually_exclusive_group()
    levels.add_argument('--bottom-level', help='level of the lowest vertebra (e.g. L5 or S1) when the input has '
                        'no labels')
    levels.add_argument('--top-level', help='level of the highest vertebra when the input has no labels')
    p.add_argument('--pixel-spacing', type=float, help='mm per pixel for every image (overrides the input)')
    p.add_argument('--aasce', action=argparse.BooleanOptionalAction,
                   help='also compute the AASCE 2019 Cobb angles (PT, MT, TL; AP films of T1-L5) and check each film '
                   'for 17 levels; default: --qc-config\'s aasce_angles = ... (True in the AASCE configs), else off')
    p.add_argument('--aasce-smape', action='store_true',
                   help='score the AASCE angles against the GT cobb_angles (implies --aasce); SMAPE in smape.json')
    p.add_argument('--chain', action='store_true',
                   help='AASCE angles from the spine chain: duplicates merged, strays and extra levels (C7, sacrum) '
                   'dropped, missed levels filled from their neighbours (default: the 17 best-scored in a row)')
    p.add_argument('--complete-ends', type=float, metavar='FAINT_THR',
                   help='complete a column short of 17 levels (T1-L5) at each end with the best detection '
                   'scoring in [FAINT_THR, --score-thr) where the next level should be (e.g. 0.05; the results must '
                   'be written down to it: tools/infer.py --score-thr 0.05)')
    p.add_argument('--films', help='summary.csv of tools/infer.py: every film of the run gets a row, also those '
                   'without detections (note "no vertebrae", QC review); inference.sh passes it')
    p.add_argument('--strict', action='store_true', help='annotation warnings in GT files become errors')
    p.add_argument('--cohort', action='store_true', help='per-level cohort statistics (cohort.csv, cohort.png)')
    p.add_argument('--reference-level', help='cohort: normalise heights by this level (default: the level '
                   'present in most films)')
    p.add_argument('--define', action='append', default=[], metavar='NAME=KIND:POINTS',
                   help='extra per-instance measure between named keypoints, repeatable: '
                   'width=distance:top_left,top_right or tilt=angle:top_left,top_right;bottom_left,bottom_right')
    p.add_argument('--define-file', help='config file (.py/.json/.yaml) with custom_measures = [\'...\', ...] '
                   'in the --define syntax')
    p.add_argument('--qc-config', help='config (.py) whose qc = dict(...) holds the QC thresholds, e.g. the model '
                   'config (default: configs/_base_/default_runtime.py\'s values)')
    p.add_argument('--intervals-config', help='config whose conformal = dict(...) sets the 90%% ranges (default: '
                   '--qc-config\'s); for refined results give the refiner\'s config, fitted on its uncertainty')
    p.add_argument('--unc-samples', type=int, default=DEFAULT_SAMPLES,
                   help='Monte Carlo copies per film for the *_unc columns when the results carry keypoint_unc '
                   f'(default {DEFAULT_SAMPLES}; 0: no uncertainty)')
    p.add_argument('--level-chain-config', help='level-chain model config (configs/level_chain/...): name each '
                   'detection\'s level, drop what is not a vertebra, fill missed levels (with its checkpoint)')
    p.add_argument('--level-chain-checkpoint', help='the level-chain model\'s weights (.pth)')
    p.add_argument('--end-levels-config', help='end-level classifier config (configs/end_levels/...): read from the '
                   'film where the T1-L5 column starts and ends, drop a C7 above it or a sacral segment below it, '
                   'send a film whose T1 or L5 was not found to review (with its checkpoint; needs --images-dir)')
    p.add_argument('--end-levels-checkpoint', help='the end-level classifier\'s weights (.pth)')
    p.add_argument('--ensemble', nargs='+', metavar='RESULTS',
                   help='results.json of other, independently trained models on the same films: images.csv\'s '
                   'angles become the models\' mean and their *_unc includes how far the models disagree '
                   '(measurements.csv and the overlays stay those of --input)')
    p.add_argument('--plots', help='with --aasce-smape: check that the angles\' uncertainty finds the large errors '
                   '(AUROC, retention, calibration in OUT/uncertainty.json; retention.png and '
                   'error_vs_uncertainty.png in this folder)')
    p.add_argument('--save_vis', '--save-vis', dest='save_vis', action='store_true',
                   help='write overlays with the measurements to OUT/vis/')
    return p.parse_args()


def measure_options(args):
    """MeasureOptions from the flags and the files they name (QC config, level chain, end levels)."""
    options = MeasureOptions(anterior=args.anterior, bottom_level=args.bottom_level, top_level=args.top_level,
                             pixel_spacing=args.pixel_spacing, aasce=True if args.aasce_smape else args.aasce,
                             chain=args.chain, custom=parse_custom_measures(args.define, args.define_file),
                             overlay=args.save_vis, unc_samples=args.unc_samples, view=args.view)
    options = options_from_files(options, args.qc_config, args.level_chain_config, args.level_chain_checkpoint,
                                 args.end_levels_config, args.end_levels_checkpoint, args.intervals_config,
                                 results=args.input)
    if args.complete_ends is not None:
        options = replace(options, end_completion=EndCompletion(faint_thr=args.complete_ends))
    return options


def print_uncertainty_check(result, plots) -> None:
    if result is None:
        print('no uncertainty check: the results carry no keypoint_unc (a model from before it, or '
              '--unc-samples 0)', file=sys.stderr)
        return
    kept90, oracle90 = (next(r['smape'] for r in result[key] if r['kept'] == 0.9)
                        for key in ('retention', 'oracle_retention'))
    qc = result['qc']
    by_angle = ', '.join(f'{name} ' + ('-' if a is None else f'{a:.3f}')
                         for name, a in zip(AASCE_ANGLES, result['auroc_by_angle']))
    print(f'uncertainty: AUROC {result["auroc"] if result["auroc"] is None else round(result["auroc"], 3)} for an '
          f'angle off > {result["bad_deg"]:g} deg ({result["n_bad"]} of {result["n_films"]} films; each angle by its '
          f'own uncertainty: {by_angle}); the 90% most '
          f'certain films SMAPE {kept90:.2f}% (all {result["smape"]:.2f}%, the best any ranking could keep '
          f'{oracle90:.2f}%); true angle within +-1 sd '
          f'{100 * result["coverage_1sd"]:.0f}%; QC review {qc["n_review"]} films -> uncertainty.json, '
          f'{plots}/retention.png, error_vs_uncertainty.png')


def print_gross_failures(result) -> None:
    held = '' if result['held_fraction'] is None else f' ({100 * result["held_fraction"]:.0f}%)'
    print(f'gross failures (an angle off by more than {result["gross_deg"]:g} deg or a wrong end level): '
          f'{result["n_gross"]} of {result["n_films"]} films ({result["n_gross_angle"]} by angle, '
          f'{result["n_gross_end_level"]} by end level); QC review holds {result["n_gross_held"]}{held} while '
          f'sending {100 * result["review_fraction"]:.0f}% of films -> gross_failures.json')


@run_cli
def main() -> int:
    args = parse_args()
    protect_inputs({'--input': args.input, '--gt': args.gt, '--define-file': args.define_file,
                    '--qc-config': args.qc_config, '--intervals-config': args.intervals_config,
                    '--level-chain-config': args.level_chain_config,
                    '--level-chain-checkpoint': args.level_chain_checkpoint,
                    '--end-levels-config': args.end_levels_config,
                    '--end-levels-checkpoint': args.end_levels_checkpoint,
                    **{f'--ensemble {p}': p for p in (args.ensemble or [])}})
    run = measure_run(args.input, args.out, measure_options(args), images_dir=args.images_dir,
                      score_thr=args.score_thr, gt=args.gt,
                      keypoint_names=args.keypoint_names.split(',') if args.keypoint_names else None,
                      strict=args.strict, films=args.films, ensemble=args.ensemble or (), cohort=args.cohort,
                      reference_level=args.reference_level, aasce_smape=args.aasce_smape, plots=args.plots)
    print(f'measured {run.n_vertebrae} vertebrae on {run.n_images} images ({run.kind}) -> {args.out}/'
          + ', '.join(run.written))
    if run.cohort_rows is not None:
        print(f'cohort statistics: {run.cohort_rows} rows -> cohort.csv, cohort.png')
    if run.smape is not None:
        err = run.smape['mean_abs_error_deg']
        print(f'AASCE SMAPE {run.smape["smape"]:.2f}% over {run.smape["n_images"]} images; mean |error| pt '
              f'{err["pt"]:.2f}, mt {err["mt"]:.2f}, tl {err["tl"]:.2f} deg')
        if run.chain_cost is not None:
            c = run.chain_cost
            print(f'oracle chain (each true vertebra with its own detection\'s corners): SMAPE '
                  f'{c["smape_oracle_chain"]:.2f}%, so choosing the column costs {c["chain_cost"]:+.2f} points; '
                  f'{c["true_vertebrae_unpaired_per_film"]:.2f} true vertebrae a film without a detection '
                  '-> oracle_chain.json')
        if run.gross is not None:
            print_gross_failures(run.gross)
        if args.plots:
            print_uncertainty_check(run.uncertainty, args.plots)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
