"""The accuracy benchmarks of tools/benchmark.py: keypoint evaluation speed against pycocotools (and
faster-coco-eval), and the demo model's measurement errors on the synthetic test split with whether its Cobb
uncertainty and QC find the films with the large errors."""
from __future__ import annotations

import contextlib
import io
import os

from spinekey.benchmarks.model_cost import timed
from spinekey.benchmarks.suites import DEMO_CONFIG, BenchContext


def bench_eval(ctx: BenchContext) -> dict:
    """Keypoint metrics (matching + PCK/AUC/EPE/SDR/breakdowns) vs pycocotools' COCOeval keypoints."""
    from spinekey.evaluation.coco_ap import coco_ap
    from spinekey.evaluation.evaluate import evaluate
    from spinekey.evaluation.synthetic_results import make_gt_and_results
    quick = ctx.quick
    n = 500 if quick else 10000
    gt, results = make_gt_and_results(n)
    ours = timed(lambda: evaluate(gt, results, coco=False), repeats=1 if quick else 3)
    row = {'images': n, 'instances': len(gt['annotations']), 'spinekey_keypoint_metrics_s': round(ours, 3)}
    with contextlib.redirect_stdout(io.StringIO()):
        row['pycocotools_keypoints_s'] = round(timed(lambda: coco_ap(gt, results, 'keypoints'), 1, 0), 3)
    row['speedup_vs_pycocotools'] = round(row['pycocotools_keypoints_s'] / ours, 2)
    try:
        import faster_coco_eval  # noqa: F401
        row['faster_coco_eval_keypoints_s'] = round(timed(lambda: _faster_coco_eval(gt, results), 1, 0), 3)
        row['speedup_vs_faster_coco_eval'] = round(row['faster_coco_eval_keypoints_s'] / ours, 2)
    except ImportError:
        row['faster_coco_eval_keypoints_s'] = 'not installed (pip install faster-coco-eval)'
    row['target_met'] = (ours <= 10.0) if not quick else 'n/a in --quick'
    return row


def _faster_coco_eval(gt, results):
    import copy

    import numpy as np
    from faster_coco_eval import COCO, COCOeval_faster
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = copy.deepcopy(gt)
        coco_gt.createIndex()
        ev = COCOeval_faster(coco_gt, coco_gt.loadRes(copy.deepcopy(results)), 'keypoints')
        ev.params.kpt_oks_sigmas = np.full(4, 0.025)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()


def bench_measure(ctx: BenchContext, data: str = 'data/synthetic') -> dict:
    """Measurement error of the demo model on the synthetic test split, against the GT keypoints' values."""
    import json

    from mmengine.config import Config

    from spinekey.apis import SpineKeyInferencer, films_of_coco

    from spinekey.evaluation.measurement_agreement import measurement_agreement
    from spinekey.io.coco_files import load_coco_gt
    from spinekey.measurement.qc import QCThresholds
    from spinekey.measurement.inputs import images_from_gt, images_from_results
    from spinekey.visualization.plots import plot_confusions, plot_uncertainty_validation
    checkpoint = ctx.checkpoint
    ann = os.path.join(data, 'det_test.json')
    if not checkpoint or not os.path.isfile(ann):
        return {'skipped': f'needs the demo checkpoint and {ann}: run make demo first'}
    inferencer = SpineKeyInferencer(DEMO_CONFIG, checkpoint, device='cpu', score_thr=0.3, measure=False)
    truth = json.load(open(os.path.join(data, 'truth.json')))['images']
    qc = QCThresholds.from_config(Config.fromfile(DEMO_CONFIG).get('qc'))

    def agreement(split_json: str) -> dict:
        films = films_of_coco(split_json, data)  # in this process, through the same inferencer tools/infer.py uses
        results = [d for film in inferencer.iter(films.paths, films.image_ids, films.names) for d in film.detections]
        gt = load_coco_gt(split_json)
        return measurement_agreement(images_from_gt(gt), images_from_results(results, 0.3, gt=gt),
                                     {name: t['anterior'] for name, t in truth.items()}, images_dir=data,
                                     pred_bottom_level='L5',  # every synthetic column ends at L5
                                     qc_thresholds=qc)
    row = agreement(ann)
    row.update(_intervals_judged(row.pop('interval_values'), os.path.join(data, 'det_val.json'), agreement))
    png = os.path.join(ctx.work_dir, 'measure_confusion.png')  # beside --out
    os.makedirs(ctx.work_dir, exist_ok=True)
    plot_confusions({'Genant': row['genant_confusion'], 'Meyerding': row['meyerding_confusion']}, png)
    row = dict(data=ann, **row)
    row['checkpoint'] = checkpoint
    row['confusion_png'] = png
    check = row.pop('cobb_uncertainty')
    if check:  # the headline numbers in the row, the curve and the scatter beside the table
        kept = {r['kept']: r['smape'] for r in check['retention']}
        row.update(cobb_unc_auroc=_round(check['auroc']), cobb_bad_films=f'{check["n_bad"]}/{check["n_films"]}',
                   cobb_smape_all=_round(check['smape']), cobb_smape_kept90=_round(kept[0.9]),
                   cobb_smape_kept80=_round(kept[0.8]), cobb_within_1sd=_round(check['coverage_1sd']),
                   cobb_within_2sd=_round(check['coverage_2sd']), qc_review_films=check['qc']['n_review'],
                   cobb_smape_qc_ok=_round(check['qc']['smape_ok']),
                   cobb_smape_qc_review=_round(check['qc']['smape_review']))
        row['uncertainty_png'] = plot_uncertainty_validation(check, os.path.join(ctx.work_dir, 'measure_cobb_'))
    return row


def _intervals_judged(test_values: dict, val_json: str, agreement) -> dict:
    """Conformal 90% intervals of the Cobb angle and the three heights fitted on the validation split (exact
    truth) and judged on the test split: coverage per column, pooled, and the median widths, in the mode the fit
    picks (spinekey.apis.calibration)."""
    from spinekey.apis.calibration import fit_columns, judge_columns
    from spinekey.utils.errors import SpineKeyError
    if not test_values or not os.path.isfile(val_json):
        return {'intervals': f'skipped: needs keypoint_unc and {val_json}'}
    try:
        fitted = fit_columns(agreement(val_json)['interval_values'], source=val_json)
    except SpineKeyError as err:  # too few validation films: the quantile would promise nothing
        return {'intervals': f'skipped: {err}'}
    judged = judge_columns({c: v for c, v in test_values.items() if c in fitted['conformal']['factors']},
                           fitted['conformal'])
    mode = fitted['conformal']['mode']
    out = {'intervals_mode': mode, 'intervals_pooled_coverage': _round(judged[f'pooled_{mode}']),
           'intervals_calibration_n': {c: f['n'] for c, f in fitted['fit'].items()}}
    other = 'plain' if mode == 'normalised' else 'normalised'
    for c, modes in judged['per_column'].items():
        out[f'{c}_interval_coverage'] = _round(modes[mode]['coverage'])
        out[f'{c}_interval_median_width'] = _round(modes[mode]['median_width'], 2)
        out[f'{c}_interval_judged_n'] = modes[mode]['n']
        out[f'{c}_interval_{other}_coverage_width'] = [_round(modes[other]['coverage']),
                                                       _round(modes[other]['median_width'], 2)]
    return out


def _round(x, digits: int = 3):
    return None if x is None else round(float(x), digits)
