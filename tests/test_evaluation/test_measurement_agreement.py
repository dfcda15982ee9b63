"""Measurement agreement: identical predictions agree perfectly; a moved corner shows up where it should."""
import json
import os

import numpy as np
import pytest

from spinekey.evaluation.measurement_agreement import measurement_agreement
from spinekey.io.coco_files import load_coco_gt
from spinekey.measurement.inputs import images_from_gt, images_from_results


def _results(gt):
    names = {im['id']: im['file_name'] for im in gt['images']}
    return [{'image_id': a['image_id'], 'file_name': names[a['image_id']], 'category_id': 1, 'bbox': a['bbox'],
             'score': 0.9, 'keypoints': list(a['keypoints'])} for a in gt['annotations']]


def test_perfect_predictions_agree_exactly(synthetic_dir):
    gt = load_coco_gt(os.path.join(synthetic_dir, 'det_train.json'))
    truth = json.load(open(os.path.join(synthetic_dir, 'truth.json')))['images']
    sides = {k: v['anterior'] for k, v in truth.items()}
    row = measurement_agreement(images_from_gt(gt), images_from_results(_results(gt), 0.3, gt=gt), sides,
                                pred_bottom_level='L5')  # synthetic columns end at L5
    assert row['matched_vertebrae'] == row['gt_vertebrae'] == len(gt['annotations'])
    assert row['slip_percent_mae'] == 0 and row['cobb_deg_mae'] == 0 and row['lordosis_deg_mae'] == 0
    assert row['genant_accuracy'] == 1.0 and row['meyerding_accuracy'] == 1.0


def test_a_moved_corner_changes_slip_and_grade(synthetic_dir):
    gt = load_coco_gt(os.path.join(synthetic_dir, 'det_train.json'))
    truth = json.load(open(os.path.join(synthetic_dir, 'truth.json')))['images']
    sides = {k: v['anterior'] for k, v in truth.items()}
    results = _results(gt)
    first = results[0]
    side = sides[gt['images'][0]['file_name']]
    # lower the anterior-top corner by 40% of the height: a Genant grade >= 2 wedge on that vertebra
    k = ['top_left', 'top_right', 'bottom_right', 'bottom_left'].index(f'top_{side}')
    first['keypoints'][3 * k + 1] += 0.4 * first['bbox'][3]
    row = measurement_agreement(images_from_gt(gt), images_from_results(results, 0.3, gt=gt), sides)
    wrong = sum(row['genant_confusion'][i][j] for i in range(4) for j in range(4) if i != j)
    assert wrong == 1
    assert row['genant_accuracy'] == pytest.approx(1 - 1 / row['matched_vertebrae'], abs=1e-4)


def test_cobb_uncertainty_is_checked_against_the_exact_error(synthetic_dir):
    """Films whose corners are exact and certain stay good; the one film with a tilted endplate and large
    corner uncertainties is the one bad film, ranked first (AUROC 1); without keypoint_unc there is no check."""
    gt = load_coco_gt(os.path.join(synthetic_dir, 'det_train.json'))
    truth = json.load(open(os.path.join(synthetic_dir, 'truth.json')))['images']
    sides = {k: v['anterior'] for k, v in truth.items()}
    results = _results(gt)
    certain = measurement_agreement(images_from_gt(gt), images_from_results(results, 0.3, gt=gt), sides,
                                    pred_bottom_level='L5')
    assert certain['cobb_uncertainty'] is None and certain['interval_values'] == {}  # nothing to calibrate
    bad_image = gt['images'][0]['id']
    for r in results:
        r['keypoint_unc'] = [0.2] * 4
    tilted = next(r for r in results if r['image_id'] == bad_image)
    tilted['keypoints'][1] -= 0.6 * tilted['bbox'][3]  # top_left up: the superior endplate tilts ~20 deg
    for r in results:
        if r['image_id'] == bad_image:
            r['keypoint_unc'] = [15.0] * 4
    row = measurement_agreement(images_from_gt(gt), images_from_results(results, 0.3, gt=gt), sides,
                                pred_bottom_level='L5')
    check = row['cobb_uncertainty']
    assert check['n_films'] == len(gt['images']) and check['n_bad'] == 1
    pred, true, unc = row['interval_values']['cobb_deg']  # one (predicted, true, uncertainty) per film
    assert len(pred) == len(gt['images']) and int(np.sum(np.abs(pred - true) > 5)) == 1
    assert np.all(unc > 0)
    moved = 0  # one per paired vertebra; the raised top_left corner changes one side's height of one vertebra
    for side in ('anterior', 'posterior'):
        pred, true, unc = row['interval_values'][f'height_{side}_px']
        assert len(pred) == row['matched_vertebrae']
        moved += int(np.sum(np.abs(pred - true) > 1e-6))
    assert moved == 1
    assert check['auroc'] == 1.0
    assert check['films'][0]['film_error'] > 5 and check['films'][0]['film_unc'] == max(
        f['film_unc'] for f in check['films'])
