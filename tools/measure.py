#!/usr/bin/env python
"""Clinical measurements from vertebra keypoints: heights, ratios, Genant grade, slip and Meyerding grade per
vertebra; Cobb angle (with end vertebrae), lordosis and, for AP scoliosis films, the AASCE Cobb angles per
image. Input: a results.json from tools/infer.py or a COCO ground-truth file (detected automatically).

Writes OUT/measurements.csv (one row per vertebra), OUT/images.csv (one row per image), OUT/measurements.json
(both); --cohort adds cohort.csv/cohort.png; --save_vis draws the measurements on each film (OUT/vis/);
--aasce-smape scores the AASCE angles against the ones stored in the GT (OUT/smape.json).
"""
from __future__ import annotations

import argparse
import os
import sys

from spinekey.apis.measure_run import (add_films_without_detections, ensemble_members, measure_films, write_cohort,
                                       write_measurements, write_smape, write_uncertainty_check)
from spinekey.io.atomic import protect_inputs
from spinekey.measurement.aasce import AASCE_ANGLES
from spinekey.measurement.inputs import read_measure_input
from spinekey.measurement.uncertainty import DEFAULT_SAMPLES
from spinekey.structures.results import DEFAULT_SCORE_THR
from spinekey.utils.cli import run_cli
from spinekey.utils.errors import SpineKeyError


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
    levels = p.add_mutually_exclusive_group()
    levels.add_argument('--bottom-level', help='level of the lowest vertebra (e.g. L5 or S1) when the input has '
                        'no labels')
    levels.add_argument('--top-level', help='level of the highest vertebra when the input has no labels')
    p.add_argument('--pixel-spacing', type=float, help='mm per pixel for every image (overrides the input)')
    p.add_argument('--aasce', action='store_true', help='also compute the AASCE 2019 Cobb angles (AP films)')
    p.add_argument('--aasce-smape', action='store_true',
                   help='score the AASCE angles against the GT cobb_angles (implies --aasce); SMAPE in smape.json')
    p.add_argument('--chain', action='store_true',
                   help='AASCE angles from the spine chain: duplicates merged, strays and extra levels (C7, sacrum) '
                   'dropped, missed levels filled from their neighbours (default: the 17 best-scored in a row)')
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
    p.add_argument('--unc-samples', type=int, default=DEFAULT_SAMPLES,
                   help='Monte Carlo copies per film for the *_unc columns when the results carry keypoint_unc '
                   f'(default {DEFAULT_SAMPLES}; 0: no uncertainty)')
    p.add_argument('--level-chain-config', help='level-chain model config (configs/level_chain/...): name each '
                   'detection\'s level, drop what is not a vertebra, fill missed levels (with its checkpoint)')
    p.add_argument('--level-chain-checkpoint', help='the level-chain model\'s weights (.pth)')
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


def custom_measures(args) -> list:
    from spinekey.measurement.custom import parse_measure
    texts = list(args.define)
    if args.define_file:
        from spinekey.utils.cli import load_config
        texts += list(load_config(args.define_file).get('custom_measures', []))
    try:
        return [parse_measure(t) for t in texts]
    except ValueError as err:
        raise SpineKeyError(f'--define: {err}') from None


def qc_settings(args):
    """(QCThresholds from --qc-config's ``qc = dict(...)``, the model's input scale from its test pipeline, its
    conformal calibration); (None, None, None) without it."""
    from spinekey.apis.measuring import calibration_of, model_input_scale
    from spinekey.measurement.qc import QCThresholds
    if not args.qc_config:
        return None, None, None
    from spinekey.utils.cli import load_config
    cfg = load_config(args.qc_config)
    try:
        qc = QCThresholds.from_config(cfg.get('qc'))
    except ValueError as err:
        raise SpineKeyError(f'{args.qc_config}: {err}') from None
    return qc, model_input_scale(cfg), calibration_of(cfg, args.qc_config)


def measure_options(args, measures):
    """MeasureOptions from the flags (QC thresholds, input scale and calibration from --qc-config; the learned
    level chain from its config and checkpoint)."""
    from spinekey.measurement.options import MeasureOptions
    qc, input_scale, calibration = qc_settings(args)
    level_chain = None
    if bool(args.level_chain_config) != bool(args.level_chain_checkpoint):
        raise SpineKeyError('--level-chain-config and --level-chain-checkpoint go together')
    if args.level_chain_config:
        from spinekey.apis.level_chain import AASCE_LEVELS, LevelChain
        level_chain = LevelChain(args.level_chain_config, args.level_chain_checkpoint,
                                 AASCE_LEVELS if (args.aasce or args.aasce_smape) else None)
    return MeasureOptions(anterior=args.anterior, bottom_level=args.bottom_level, top_level=args.top_level,
                          pixel_spacing=args.pixel_spacing, aasce=args.aasce or args.aasce_smape,
                          chain=args.chain, custom=measures, overlay=args.save_vis, qc=qc,
                          unc_samples=args.unc_samples, input_scale=input_scale, calibration=calibration,
                          level_chain=level_chain)


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


@run_cli
def main() -> int:
    args = parse_args()
    protect_inputs({'--input': args.input, '--gt': args.gt, '--define-file': args.define_file,
                    '--qc-config': args.qc_config, '--level-chain-config': args.level_chain_config,
                    '--level-chain-checkpoint': args.level_chain_checkpoint,
                    **{f'--ensemble {p}': p for p in (args.ensemble or [])}})
    names = args.keypoint_names.split(',') if args.keypoint_names else None
    kind, images = read_measure_input(args.input, args.score_thr, names, args.gt, args.strict)
    if args.films:
        images = add_films_without_detections(images, args.films)
    if not images:
        raise SpineKeyError(f'{args.input}: no images to measure')
    images_dir = args.images_dir or os.path.dirname(os.path.abspath(args.input))
    measures = custom_measures(args)
    if measures:
        from spinekey.measurement.custom import check_names
        names_seen = sorted({n for im in images for v in im.vertebrae for n in v.points})
        try:
            check_names(measures, names_seen)
        except ValueError as err:
            raise SpineKeyError(f'{args.input}: {err}') from None
    if args.ensemble and kind == 'gt':
        raise SpineKeyError(f'{args.input}: --ensemble combines models\' results.json files; --input is ground truth')
    ensemble = ensemble_members(args.ensemble, images, args.score_thr, names, args.gt, args.strict) \
        if args.ensemble else None
    options = measure_options(args, measures)
    vertebra_rows, image_rows, smape_pairs = measure_films(images, options, images_dir, args.out, ensemble,
                                                           source=args.input)
    written = write_measurements(args.out, vertebra_rows, image_rows, measures, args.input, kind)
    print(f'measured {len(vertebra_rows)} vertebrae on {len(image_rows)} images ({kind}) -> {args.out}/'
          + ', '.join(written))
    if args.cohort:
        n = write_cohort(args.out, vertebra_rows, args.reference_level, source=args.input)
        print(f'cohort statistics: {n} rows -> cohort.csv, cohort.png')
    if args.aasce_smape:
        summary = write_smape(args.out, smape_pairs, source=args.gt or args.input)
        err = summary['mean_abs_error_deg']
        print(f'AASCE SMAPE {summary["smape"]:.2f}% over {summary["n_images"]} images; mean |error| pt '
              f'{err["pt"]:.2f}, mt {err["mt"]:.2f}, tl {err["tl"]:.2f} deg')
        if args.plots:
            print_uncertainty_check(write_uncertainty_check(args.out, args.plots, smape_pairs), args.plots)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
