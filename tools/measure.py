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
import csv
import io
import os
import sys

from tqdm import tqdm

from spinekey.io.annotated_images import locate_image
from spinekey.io.atomic import atomic_write_bytes, atomic_write_json, atomic_write_text, protect_inputs
from spinekey.measurement.aasce import AASCE_ANGLES
from spinekey.measurement.inputs import read_measure_input
from spinekey.io.safe_paths import output_names, path_inside
from spinekey.measurement.spine import IMAGE_COLUMNS, VERTEBRA_COLUMNS
from spinekey.measurement.uncertainty import DEFAULT_SAMPLES
from spinekey.utils.cli import run_cli
from spinekey.utils.errors import SpineKeyError
from spinekey.structures.results import DEFAULT_SCORE_THR



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


def to_csv(rows, columns) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction='ignore', lineterminator='\n')
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ('' if row.get(k) is None else row.get(k)) for k in columns})
    return buf.getvalue()


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


def ensemble_members(args, images, names) -> dict:
    """image_id -> the same film's ImageInput from each --ensemble file (an empty one where a model found
    nothing on it)."""
    from spinekey.structures.vertebra import ImageInput
    members = {im.image_id: [] for im in images}
    for path in args.ensemble or ():
        kind, other = read_measure_input(path, args.score_thr, names, args.gt, args.strict)
        if kind == 'gt':
            raise SpineKeyError(f'{path}: --ensemble takes results.json files of other models, not ground truth')
        by_id = {im.image_id: im for im in other}
        for im in images:
            members[im.image_id].append(by_id.get(im.image_id) or ImageInput(im.image_id, im.file_name))
    return members


def main_loop(args, images, images_dir, measures=(), ensemble=None):
    """Measure every film (spinekey.apis.measuring.measure_film, or measure_film_ensemble with ``ensemble``:
    image_id -> the other models' inputs); overlays go to OUT/vis/ under safe names."""
    from spinekey.apis.measuring import measure_film, measure_film_ensemble
    from spinekey.measurement.options import MeasureOptions
    qc, input_scale, calibration = qc_settings(args)
    level_chain = None
    if bool(args.level_chain_config) != bool(args.level_chain_checkpoint):
        raise SpineKeyError('--level-chain-config and --level-chain-checkpoint go together')
    if args.level_chain_config:
        from spinekey.apis.level_chain import AASCE_LEVELS, LevelChain
        level_chain = LevelChain(args.level_chain_config, args.level_chain_checkpoint,
                                 AASCE_LEVELS if (args.aasce or args.aasce_smape) else None)
    options = MeasureOptions(anterior=args.anterior, bottom_level=args.bottom_level, top_level=args.top_level,
                             pixel_spacing=args.pixel_spacing, aasce=args.aasce or args.aasce_smape,
                             chain=args.chain, custom=measures, overlay=args.save_vis, qc=qc,
                             unc_samples=args.unc_samples, input_scale=input_scale, calibration=calibration,
                             level_chain=level_chain)
    vertebra_rows, image_rows, smape_pairs = [], [], []
    vis_names = output_names([im.file_name for im in images], '.jpg', flat=True)
    for im, vis_name in tqdm(zip(images, vis_names), total=len(images), desc='measure', unit='img',
                             file=sys.stderr, disable=len(images) < 20):
        path = locate_image(images_dir, im.file_name) or os.path.join(images_dir, im.file_name)
        if ensemble:
            film = measure_film_ensemble([im] + ensemble[im.image_id], options, path, source=args.input)
        else:
            film = measure_film(im, options, path, source=args.input)
        vertebra_rows += film.vertebrae
        image_rows.append(film.image)
        if options.aasce and im.cobb_angles and film.image.get('cobb_mt_deg') is not None:
            pred = [film.image['cobb_pt_deg'], film.image['cobb_mt_deg'], film.image['cobb_tl_deg']]
            unc = [film.image.get(f'cobb_{a}_deg_unc') for a in AASCE_ANGLES]
            smape_pairs.append((im.file_name, pred, list(im.cobb_angles),
                                {'unc': unc if None not in unc else None, 'qc_status': film.image.get('qc_status')}))
        if film.overlay_jpg is not None:
            atomic_write_bytes(path_inside(os.path.join(args.out, 'vis'), vis_name), film.overlay_jpg)
    return vertebra_rows, image_rows, smape_pairs


def add_films_without_detections(images, summary_path):
    """``images`` plus an empty entry for each film of summary.csv (status ok) that has no detections."""
    from spinekey.structures.vertebra import ImageInput
    seen = {str(im.image_id) for im in images}
    with open(summary_path, newline='') as f:
        extra = [ImageInput(int(row['image_id']), row['file_name']) for row in csv.DictReader(f)
                 if row['status'] == 'ok' and row['image_id'] not in seen]
    return sorted(images + extra, key=lambda im: im.image_id)


def write_smape(args, pairs) -> None:
    from spinekey.measurement.aasce import smape
    if not pairs:
        raise SpineKeyError(f'{args.gt or args.input}: --aasce-smape needs images with cobb_angles (a GT file '
                            'from tools/convert_dataset.py --from aasce) and measurable predictions')
    value = smape([p for _, p, _, _ in pairs], [t for _, _, t, _ in pairs])
    per_angle = [sum(abs(p[i] - t[i]) for _, p, t, _ in pairs) / len(pairs) for i in range(3)]
    atomic_write_json(os.path.join(args.out, 'smape.json'), {
        'smape': value, 'n_images': len(pairs), 'angle_order': list(AASCE_ANGLES),
        'mean_abs_error_deg': dict(zip(AASCE_ANGLES, per_angle)),
        'images': [dict({'file_name': f, 'pred': p, 'true': t}, **extra) for f, p, t, extra in pairs]}, indent=1)
    print(f'AASCE SMAPE {value:.2f}% over {len(pairs)} images; mean |error| pt {per_angle[0]:.2f}, '
          f'mt {per_angle[1]:.2f}, tl {per_angle[2]:.2f} deg')
    if args.plots:
        write_uncertainty_check(args, pairs)


def write_uncertainty_check(args, pairs) -> None:
    """uncertainty.json and its plots: does the angles' uncertainty (and QC) point at the large errors?"""
    from spinekey.evaluation.uncertainty_validation import validate
    from spinekey.visualization.plots import plot_uncertainty_validation
    scored = [(p, t, extra) for _, p, t, extra in pairs if extra['unc'] is not None]
    if not scored:
        print('no uncertainty check: the results carry no keypoint_unc (a model from before it, or '
              '--unc-samples 0)', file=sys.stderr)
        return
    result = validate([p for p, _, _ in scored], [t for _, t, _ in scored], [e['unc'] for _, _, e in scored],
                      [e['qc_status'] for _, _, e in scored])
    os.makedirs(args.plots, exist_ok=True)
    atomic_write_json(os.path.join(args.out, 'uncertainty.json'), result, indent=1)
    plot_uncertainty_validation(result, os.path.join(args.plots, ''))
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
          f'{args.plots}/retention.png, error_vs_uncertainty.png')


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
    ensemble = ensemble_members(args, images, names) if args.ensemble else None
    vertebra_rows, image_rows, smape_pairs = main_loop(args, images, images_dir, measures, ensemble)
    os.makedirs(args.out, exist_ok=True)
    extra = [c for m in measures for c in ((m.column, f'{m.name}_mm') if m.kind == 'distance' else (m.column,))]
    at = VERTEBRA_COLUMNS.index('note')  # custom columns after the built-in numbers, before note and QC
    columns = VERTEBRA_COLUMNS[:at] + extra + VERTEBRA_COLUMNS[at:]
    atomic_write_text(os.path.join(args.out, 'measurements.csv'), to_csv(vertebra_rows, columns))
    atomic_write_text(os.path.join(args.out, 'images.csv'), to_csv(image_rows, IMAGE_COLUMNS))
    atomic_write_json(os.path.join(args.out, 'measurements.json'),
                      {'input': os.path.abspath(args.input), 'input_kind': kind, 'vertebrae': vertebra_rows,
                       'images': image_rows})
    print(f'measured {len(vertebra_rows)} vertebrae on {len(image_rows)} images ({kind}) -> {args.out}/'
          'measurements.csv, images.csv, measurements.json')
    if args.cohort:
        from spinekey.measurement.cohort import COHORT_COLUMNS, cohort_table
        from spinekey.visualization.plots import plot_cohort
        table = cohort_table(vertebra_rows, args.reference_level)
        if not table:
            raise SpineKeyError(f'{args.input}: no levels to build cohort statistics from (give --bottom-level '
                                'or labelled GT)')
        atomic_write_text(os.path.join(args.out, 'cohort.csv'), to_csv(table, COHORT_COLUMNS))
        plot_cohort(table, os.path.join(args.out, 'cohort.png'))
        print(f'cohort statistics: {len(table)} rows -> cohort.csv, cohort.png')
    if args.aasce_smape:
        write_smape(args, smape_pairs)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
