"""Measure a whole run (what ``tools/measure.py`` does, callable from Python): every film of a results.json or
a ground-truth file through ``measure_film``, then measurements.csv / images.csv / measurements.json, cohort
statistics, the AASCE SMAPE and the check that the angles' uncertainty points at the large errors.

Each writer returns what it wrote so the tool (or a notebook) can say it; nothing here prints.
"""
from __future__ import annotations

import csv
import io
import os
import sys
from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from tqdm import tqdm

from spinekey.apis.measuring import measure_film, measure_film_ensemble
from spinekey.io.annotated_images import locate_image
from spinekey.io.atomic import atomic_write_bytes, atomic_write_json, atomic_write_text
from spinekey.io.safe_paths import output_names, path_inside
from spinekey.measurement.aasce import AASCE_ANGLES
from spinekey.measurement.end_completion import check_end_completion
from spinekey.measurement.inputs import read_gt, read_measure_input
from spinekey.measurement.options import MeasureOptions
from spinekey.measurement.spine import IMAGE_COLUMNS, VERTEBRA_COLUMNS
from spinekey.structures.results import DEFAULT_SCORE_THR
from spinekey.structures.vertebra import ImageInput, film_named, films_by_name
from spinekey.utils.errors import SpineKeyError

# (file name, predicted [pt, mt, tl], true [pt, mt, tl], {'unc': [...] or None, 'qc_status', 'qc_reasons',
#  'ends': centres of the top and bottom vertebrae the angles were measured on})
SmapePair = Tuple[str, List[float], List[float], dict]


def to_csv(rows: Sequence[dict], columns: Sequence[str]) -> str:
    """CSV text of ``rows`` in ``columns`` (None as an empty cell, other keys left out)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction='ignore', lineterminator='\n')
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ('' if row.get(k) is None else row.get(k)) for k in columns})
    return buf.getvalue()


def ensemble_members(paths: Sequence[str], images: Sequence[ImageInput], score_thr: float, names=None,
                     gt_path: Optional[str] = None, strict: bool = False) -> Dict[int, List[ImageInput]]:
    """image_id -> the same film's ImageInput from each of the other models' results ``paths`` (an empty one
    where a model found nothing on it)."""
    members = {im.image_id: [] for im in images}
    for path in paths:
        kind, other = read_measure_input(path, score_thr, names, gt_path, strict)
        if kind == 'gt':
            raise SpineKeyError(f'{path}: --ensemble takes results.json files of other models, not ground truth')
        by_id = {im.image_id: im for im in other}
        for im in images:
            members[im.image_id].append(by_id.get(im.image_id) or ImageInput(im.image_id, im.file_name))
    return members


def add_films_without_detections(images: List[ImageInput], summary_path: str) -> List[ImageInput]:
    """``images`` plus an empty entry for each film of tools/infer.py's summary.csv (status ok) that has no
    detections, so every film of the run gets a row."""
    seen = {str(im.image_id) for im in images}
    with open(summary_path, newline='') as f:
        extra = [ImageInput(int(row['image_id']), row['file_name']) for row in csv.DictReader(f)
                 if row['status'] == 'ok' and row['image_id'] not in seen]
    return sorted(images + extra, key=lambda im: im.image_id)


def measure_films(images: Sequence[ImageInput], options: MeasureOptions, images_dir: str, out: str,
                  ensemble: Optional[Dict[int, List[ImageInput]]] = None, source: str = 'input'
                  ) -> Tuple[List[dict], List[dict], List[SmapePair]]:
    """(measurements.csv rows, images.csv rows, AASCE pairs) of every film; overlays (``options.overlay``) go
    to OUT/vis/ under safe names. ``ensemble``: image_id -> the other models' inputs (measure_film_ensemble)."""
    vertebra_rows, image_rows, smape_pairs = [], [], []
    vis_names = output_names([im.file_name for im in images], '.jpg', flat=True)
    for im, vis_name in tqdm(zip(images, vis_names), total=len(images), desc='measure', unit='img',
                             file=sys.stderr, disable=len(images) < 20):
        path = locate_image(images_dir, im.file_name) or os.path.join(images_dir, im.file_name)
        if ensemble:
            film = measure_film_ensemble([im] + ensemble[im.image_id], options, path, source=source)
        else:
            film = measure_film(im, options, path, source=source)
        vertebra_rows += film.vertebrae
        image_rows.append(film.image)
        if options.aasce and im.cobb_angles and film.image.get('cobb_mt_deg') is not None:
            pred = [film.image['cobb_pt_deg'], film.image['cobb_mt_deg'], film.image['cobb_tl_deg']]
            unc = [film.image.get(f'cobb_{a}_deg_unc') for a in AASCE_ANGLES]
            ends = film.spine.aasce_vertebrae
            smape_pairs.append((im.file_name, pred, list(im.cobb_angles),
                                {'unc': unc if None not in unc else None, 'qc_status': film.image.get('qc_status'),
                                 'qc_reasons': film.image.get('qc_reasons') or '',
                                 'ends': [ends[0].centre().tolist(), ends[-1].centre().tolist()] if ends else None}))
        if film.overlay_jpg is not None:
            atomic_write_bytes(path_inside(os.path.join(out, 'vis'), vis_name), film.overlay_jpg)
    return vertebra_rows, image_rows, smape_pairs


def write_measurements(out: str, vertebra_rows: List[dict], image_rows: List[dict], measures=(),
                       input_path: str = '', input_kind: str = 'results') -> List[str]:
    """OUT/measurements.csv (custom columns after the built-in numbers, before note and QC), images.csv and
    measurements.json; returns the names written."""
    os.makedirs(out, exist_ok=True)
    extra = [c for m in measures for c in ((m.column, f'{m.name}_mm') if m.kind == 'distance' else (m.column,))]
    at = VERTEBRA_COLUMNS.index('note')
    columns = VERTEBRA_COLUMNS[:at] + extra + VERTEBRA_COLUMNS[at:]
    atomic_write_text(os.path.join(out, 'measurements.csv'), to_csv(vertebra_rows, columns))
    atomic_write_text(os.path.join(out, 'images.csv'), to_csv(image_rows, IMAGE_COLUMNS))
    atomic_write_json(os.path.join(out, 'measurements.json'),
                      {'input': os.path.abspath(input_path), 'input_kind': input_kind, 'vertebrae': vertebra_rows,
                       'images': image_rows})
    return ['measurements.csv', 'images.csv', 'measurements.json']


def write_cohort(out: str, vertebra_rows: List[dict], reference_level: Optional[str] = None,
                 source: str = 'input') -> int:
    """OUT/cohort.csv and cohort.png (per-level statistics); returns the number of rows."""
    from spinekey.measurement.cohort import COHORT_COLUMNS, cohort_table
    from spinekey.visualization.plots import plot_cohort
    table = cohort_table(vertebra_rows, reference_level)
    if not table:
        raise SpineKeyError(f'{source}: no levels to build cohort statistics from (give --bottom-level '
                            'or labelled GT)')
    atomic_write_text(os.path.join(out, 'cohort.csv'), to_csv(table, COHORT_COLUMNS))
    plot_cohort(table, os.path.join(out, 'cohort.png'))
    return len(table)


def write_smape(out: str, pairs: Sequence[SmapePair], source: str = 'input') -> dict:
    """OUT/smape.json: the AASCE SMAPE of the films' angles against the stored ones; returns its summary
    (smape, n_images, mean_abs_error_deg)."""
    from spinekey.measurement.aasce import smape
    if not pairs:
        raise SpineKeyError(f'{source}: --aasce-smape needs images with cobb_angles (a GT file '
                            'from tools/convert_dataset.py --from aasce) and measurable predictions')
    value = smape([p for _, p, _, _ in pairs], [t for _, _, t, _ in pairs])
    per_angle = [sum(abs(p[i] - t[i]) for _, p, t, _ in pairs) / len(pairs) for i in range(3)]
    summary = {'smape': value, 'n_images': len(pairs), 'angle_order': list(AASCE_ANGLES),
               'mean_abs_error_deg': dict(zip(AASCE_ANGLES, per_angle))}
    atomic_write_json(os.path.join(out, 'smape.json'), dict(
        summary, images=[{'file_name': f, 'pred': p, 'true': t, 'unc': extra['unc'], 'qc_status': extra['qc_status']}
                         for f, p, t, extra in pairs]),
        indent=1)
    return summary


def write_uncertainty_check(out: str, plots: str, pairs: Sequence[SmapePair]) -> Optional[dict]:
    """OUT/uncertainty.json and its plots in ``plots``: does the angles' uncertainty (and QC) point at the large
    errors? None when no film carries an uncertainty."""
    from spinekey.evaluation.uncertainty_validation import validate
    from spinekey.visualization.plots import plot_uncertainty_validation
    scored = [(p, t, extra) for _, p, t, extra in pairs if extra['unc'] is not None]
    if not scored:
        return None
    result = validate([p for p, _, _ in scored], [t for _, t, _ in scored], [e['unc'] for _, _, e in scored],
                      [e['qc_status'] for _, _, e in scored])
    os.makedirs(plots, exist_ok=True)
    atomic_write_json(os.path.join(out, 'uncertainty.json'), result, indent=1)
    plot_uncertainty_validation(result, os.path.join(plots, ''))
    return result


def write_gross_failures(out: str, pairs: Sequence[SmapePair], gt_images: Sequence[ImageInput]) -> Optional[dict]:
    """OUT/gross_failures.json: the films with an angle off by more than 10 deg or a wrong end level, and how
    many of them QC's review holds (spinekey.evaluation.gross_failures). ``gt_images``: the annotated films
    (spinekey.measurement.inputs.read_gt). None without films to judge."""
    from spinekey.evaluation.gross_failures import FilmOutcome, end_level_errors, gross_failure_check, true_columns
    truth = true_columns(gt_images)
    films = []
    for name, pred, true, extra in pairs:
        centres, levels = truth.get(name) or truth.get(os.path.basename(name)) or ([], [])
        ends = end_level_errors(extra['ends'], centres, levels) if extra.get('ends') and len(centres) >= 2 else []
        films.append(FilmOutcome(name, max(abs(p - t) for p, t in zip(pred, true)), ends, extra.get('qc_status'),
                                 extra.get('qc_reasons', ''), max(extra['unc']) if extra.get('unc') else None))
    if not films:
        return None
    result = gross_failure_check(films)
    atomic_write_json(os.path.join(out, 'gross_failures.json'), result, indent=1)
    return result


def write_chain_cost(out: str, pairs: Sequence[SmapePair], images: Sequence[ImageInput],
                     gt_images: Sequence[ImageInput], shipped_smape: float) -> Optional[dict]:
    """OUT/oracle_chain.json: the AASCE SMAPE of the same films measured on the oracle chain (each true vertebra
    with its own detection's corners, spinekey.evaluation.oracle_chain) and the chain's cost (shipped SMAPE minus
    it); ``images`` the measured predictions, ``gt_images`` the annotated films. None when no scored film has a
    height and two annotated vertebrae."""
    from spinekey.evaluation.oracle_chain import ORACLE_IOU, oracle_chain_angles
    from spinekey.measurement.aasce import smape
    truth = films_by_name(gt_images)
    predicted = {im.file_name: im for im in images}
    films = []
    for name, pred, true, _ in pairs:
        gim = film_named(truth, name)
        pim = predicted.get(name)
        result = oracle_chain_angles(gim.vertebrae, pim.vertebrae, gim.height) if gim and pim else None
        if result is not None:
            films.append((name, pred, true, [round(a, 3) for a in result[0]], result[1]))
    if not films:
        return None
    shipped = smape([f[1] for f in films], [f[2] for f in films])
    oracle = smape([f[3] for f in films], [f[2] for f in films])
    summary = {'n_images': len(films), 'smape_shipped': shipped, 'smape_oracle_chain': oracle,
               'chain_cost': shipped - oracle, 'iou_threshold': ORACLE_IOU,
               'true_vertebrae_unpaired_per_film': float(np.mean([f[4] for f in films]))}
    if len(films) != len(pairs):
        summary['note'] = (f'{len(pairs) - len(films)} scored film(s) without a height or two annotated vertebrae '
                           f'left out (SMAPE of all scored films {shipped_smape:.2f}%)')
    atomic_write_json(os.path.join(out, 'oracle_chain.json'), dict(
        summary, angle_order=list(AASCE_ANGLES),
        images=[{'file_name': n, 'pred': p, 'pred_oracle_chain': o, 'true': t, 'unpaired': u}
                for n, p, t, o, u in films]), indent=1)
    return summary


def parse_custom_measures(defines: Sequence[str] = (), define_file: Optional[str] = None) -> list:
    """Custom measures from ``NAME=KIND:POINTS`` texts and a config file's ``custom_measures = [...]``."""
    from spinekey.measurement.custom import parse_measure
    texts = list(defines)
    if define_file:
        from spinekey.utils.cli import load_config
        texts += list(load_config(define_file).get('custom_measures', []))
    try:
        return [parse_measure(t) for t in texts]
    except ValueError as err:
        raise SpineKeyError(f'--define: {err}') from None


def options_from_files(options: MeasureOptions, qc_config: Optional[str] = None,
                       level_chain_config: Optional[str] = None,
                       level_chain_checkpoint: Optional[str] = None, end_levels_config: Optional[str] = None,
                       end_levels_checkpoint: Optional[str] = None,
                       intervals_config: Optional[str] = None, results: Optional[str] = None) -> MeasureOptions:
    """``options`` with what files decide: QC thresholds, the model's input scale, its conformal calibration,
    its film view and AASCE angles (where the flags set none) from ``qc_config`` (a model config), the learned
    level chain, the end-level classifier.

    ``intervals_config``: the config whose ``conformal = dict(...)`` sets the ranges instead of ``qc_config``'s
    (the refiner's config for refined results: its factors were fitted on its own uncertainty). ``results``: the
    results.json to be measured; refined ones with only ``qc_config``'s (stage 1's) factors get no ranges
    ('uncalibrated', with a notice): those factors multiply stage 1's uncertainty, not the refiner's.
    """
    from spinekey.apis.measuring import calibration_of, film_defaults_of, model_input_scale
    from spinekey.measurement.qc import QCThresholds
    if bool(level_chain_config) != bool(level_chain_checkpoint):
        raise SpineKeyError('--level-chain-config and --level-chain-checkpoint go together')
    if bool(end_levels_config) != bool(end_levels_checkpoint):
        raise SpineKeyError('--end-levels-config and --end-levels-checkpoint go together')
    if level_chain_config and end_levels_config:
        raise SpineKeyError('--level-chain-config and --end-levels-config: give one (both decide which detections '
                            'form the column)')
    if qc_config:
        from spinekey.utils.cli import load_config
        cfg = load_config(qc_config)
        try:
            qc = QCThresholds.from_config(cfg.get('qc'))
        except ValueError as err:
            raise SpineKeyError(f'{qc_config}: {err}') from None
        options = film_defaults_of(cfg, qc_config, replace(options, qc=qc, input_scale=model_input_scale(cfg),
                                                           calibration=calibration_of(cfg, qc_config)))
    if intervals_config:
        from spinekey.utils.cli import load_config
        options = replace(options, calibration=calibration_of(load_config(intervals_config), intervals_config))
    elif options.calibration is not None and results and results_are_refined(results):
        print(f'notice: {results} was refined (stage 2); the interval factors of {qc_config} were fitted on stage '
              "1's uncertainty, so the ranges say 'uncalibrated' (--intervals-config REFINER_CONFIG gives the "
              "refiner's)", file=sys.stderr)
        options = replace(options, calibration=None)
    if level_chain_config:
        from spinekey.apis.level_chain import AASCE_LEVELS, LevelChain
        options = replace(options, level_chain=LevelChain(level_chain_config, level_chain_checkpoint,
                                                          AASCE_LEVELS if options.aasce else None))
    if end_levels_config:
        from spinekey.apis.end_levels import EndLevels
        options = replace(options, end_levels=EndLevels(end_levels_config, end_levels_checkpoint))
    return options


def results_are_refined(path: str) -> bool:
    """Whether ``path`` is a results.json whose keypoints the refiner re-placed (``keypoints_stage1`` beside them)."""
    from spinekey.io.coco_files import read_json
    data = read_json(path, 'results file')
    return isinstance(data, list) and any(isinstance(d, dict) and 'keypoints_stage1' in d for d in data)


def check_custom_measures(measures: Sequence, images: Sequence[ImageInput], source: str) -> None:
    """One line naming ``source`` when a custom measure names a point no vertebra of the input has."""
    if not measures:
        return
    from spinekey.measurement.custom import check_names
    try:
        check_names(measures, sorted({n for im in images for v in im.vertebrae for n in v.points}))
    except ValueError as err:
        raise SpineKeyError(f'{source}: {err}') from None


@dataclass
class MeasureRun:
    """What ``measure_run`` wrote: counts, file names and the scores (None where not asked for)."""
    kind: str  # 'results' or 'gt'
    n_vertebrae: int
    n_images: int
    written: List[str]
    cohort_rows: Optional[int] = None
    smape: Optional[dict] = None  # write_smape's summary
    uncertainty: Optional[dict] = None  # write_uncertainty_check's result
    gross: Optional[dict] = None  # write_gross_failures' result
    chain_cost: Optional[dict] = None  # write_chain_cost's summary
    pairs: List[SmapePair] = field(default_factory=list)


def measure_run(input_path: str, out: str, options: MeasureOptions = MeasureOptions(), *,
                images_dir: Optional[str] = None, score_thr: float = DEFAULT_SCORE_THR, gt: Optional[str] = None,
                keypoint_names: Optional[Sequence[str]] = None, strict: bool = False,
                films: Optional[str] = None, ensemble: Sequence[str] = (), cohort: bool = False,
                reference_level: Optional[str] = None, aasce_smape: bool = False,
                plots: Optional[str] = None) -> MeasureRun:
    """tools/measure.py as one call: read a results.json or a GT file (``films``: also the run's films without
    detections), measure every film, write the CSVs and JSON to ``out``; ``cohort``, ``aasce_smape`` (with
    ``plots``: the uncertainty check) add their files. ``options.aasce`` is set when ``aasce_smape`` is."""
    check_end_completion(options, score_thr)
    faint_thr = options.end_completion.faint_thr if options.end_completion is not None else None
    kind, images = read_measure_input(input_path, score_thr, keypoint_names, gt, strict, faint_thr)
    if faint_thr is not None and kind == 'results' and not any(im.faint for im in images):
        print(f'notice: {input_path} has no detection scoring in [{faint_thr:g}, {score_thr:g}): end completion has '
              f'nothing to take (write the results down to it: tools/infer.py --score-thr {faint_thr:g})',
              file=sys.stderr)
    if films:
        images = add_films_without_detections(images, films)
    if not images:
        raise SpineKeyError(f'{input_path}: no images to measure')
    check_custom_measures(options.custom, images, input_path)
    if ensemble and kind == 'gt':
        raise SpineKeyError(f'{input_path}: --ensemble combines models\' results.json files; --input is ground truth')
    members = ensemble_members(ensemble, images, score_thr, keypoint_names, gt, strict) if ensemble else None
    if aasce_smape:
        options = replace(options, aasce=True)
    images_dir = images_dir or os.path.dirname(os.path.abspath(input_path))
    vertebra_rows, image_rows, pairs = measure_films(images, options, images_dir, out, members, source=input_path)
    run = MeasureRun(kind, len(vertebra_rows), len(image_rows),
                     write_measurements(out, vertebra_rows, image_rows, options.custom, input_path, kind),
                     pairs=pairs)
    if cohort:
        run.cohort_rows = write_cohort(out, vertebra_rows, reference_level, source=input_path)
    if aasce_smape:
        run.smape = write_smape(out, pairs, source=gt or input_path)
        if gt:
            gt_images = read_gt(gt)  # read once for both checks against the annotation
            run.gross = write_gross_failures(out, pairs, gt_images)
            if not ensemble:  # an ensemble's angles are a mean of models: no one set of corners to pair
                run.chain_cost = write_chain_cost(out, pairs, images, gt_images, run.smape['smape'])
        if plots:
            run.uncertainty = write_uncertainty_check(out, plots, pairs)
    return run
