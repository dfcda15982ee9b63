import copy

import numpy as np
import pytest

from spinekey.evaluation.coco_ap import coco_ap
from spinekey.evaluation.evaluate import evaluate, format_report
from spinekey.evaluation.matching import match_results

CAT = {'id': 1, 'name': 'vertebra', 'keypoints': ['top_left', 'top_right', 'bottom_right', 'bottom_left']}


def _ann(i, image_id, x, y, w=40, h=30):
    kps = [x, y, 2, x + w, y, 2, x + w, y + h, 2, x, y + h, 2]
    return {'id': i, 'image_id': image_id, 'category_id': 1, 'bbox': [x, y, w, h], 'area': w * h, 'iscrowd': 0,
            'keypoints': kps, 'num_keypoints': 4,
            'segmentation': [[x, y, x + w, y, x + w, y + h, x, y + h]]}


def _gt():
    return {'images': [{'id': 1, 'width': 200, 'height': 200}, {'id': 2, 'width': 200, 'height': 200}],
            'annotations': [_ann(1, 1, 10, 10), _ann(2, 1, 10, 60), _ann(3, 2, 50, 50)], 'categories': [CAT]}


def _as_result(ann, score, dx=0.0):
    kps = np.array(ann['keypoints'], float).reshape(4, 3)
    kps[:, 0] += dx
    kps[:, 2] = 0.9
    x, y, w, h = ann['bbox']
    return {'image_id': ann['image_id'], 'category_id': 1, 'bbox': [x + dx, y, w, h], 'score': score,
            'keypoints': kps.reshape(-1).tolist()}


def test_results_equal_to_gt_are_perfect():
    gt = _gt()
    m = evaluate(gt, [_as_result(a, 0.9) for a in gt['annotations']])
    assert m['EPE'] == 0 and m['PCK@0.05'] == 1 and m['AUC'] == pytest.approx(0.95)  # PCK(0) = 0
    assert m['recall'] == 1 and m['precision'] == 1
    assert m['bbox_AP'] == pytest.approx(1.0) and m['kpt_AP'] == pytest.approx(1.0)


def test_shift_missed_vertebra_and_false_positive_by_hand():
    gt = _gt()
    a1, a2, a3 = gt['annotations']
    fp = dict(_as_result(a1, 0.8), bbox=[150, 150, 20, 20])
    results = [_as_result(a1, 0.9, dx=3.0), fp, _as_result(a3, 0.7)]  # a2 is missed
    m = evaluate(gt, results)
    assert m['num_gt'] == 3 and m['num_matched'] == 2 and m['num_false_positives'] == 1
    assert m['recall'] == pytest.approx(2 / 3) and m['precision'] == pytest.approx(2 / 3)
    assert m['EPE'] == pytest.approx(1.5)  # 4 keypoints off by 3 px, 4 exact
    # norm = max(w, h) = 40: 3/40 = 0.075 -> fails PCK@0.05, passes PCK@0.1
    assert m['PCK@0.05'] == pytest.approx(0.5) and m['PCK@0.1'] == 1.0
    assert m['per_keypoint']['top_left']['EPE'] == pytest.approx(1.5)


def test_coco_bbox_ap_hand_worked():
    # ranked: TP (0.9), FP (0.8), TP (0.7) over 2 GT -> interpolated precision 1 up to recall 0.5, 2/3 after;
    # COCO's 101 recall points: (51 * 1 + 50 * 2/3) / 101 at every IoU threshold
    gt = _gt()
    gt['annotations'] = gt['annotations'][:2]
    a1, a2 = gt['annotations']
    results = [_as_result(a1, 0.9), dict(_as_result(a1, 0.8), bbox=[150, 150, 20, 20]), _as_result(a2, 0.7)]
    ap = coco_ap(gt, results, 'bbox')
    expected = (51 + 50 * 2 / 3) / 101
    assert ap['bbox_AP'] == pytest.approx(expected, abs=1e-6)
    assert ap['bbox_AP50'] == pytest.approx(expected, abs=1e-6)


def test_empty_results_give_zeros_with_a_warning(capsys):
    m = evaluate(_gt(), [])
    assert capsys.readouterr().err == 'warning: no detections in the results: every metric is 0\n'  # one plain line
    assert m['bbox_AP'] == 0 and m['recall'] == 0 and m['PCK@0.1'] == 0


def test_matching_structure_and_segm_iou():
    gt = _gt()
    res = [_as_result(a, 0.9) for a in gt['annotations']]
    from pycocotools import mask as mask_utils
    for r, a in zip(res, gt['annotations']):
        rle = mask_utils.merge(mask_utils.frPyObjects(a['segmentation'], 200, 200))
        r['segmentation'] = {'size': rle['size'], 'counts': rle['counts'].decode()}
    out = match_results(gt, res, 'segm', 0.5)
    assert out['iou_type'] == 'segm' and len(out['images']) == 2
    assert [mm['pred_index'] for mm in out['images'][0]['matches']] == [0, 1]
    assert all(mm['iou'] == pytest.approx(1.0) for im in out['images'] for mm in im['matches'])


def test_report_lists_headline_metrics():
    gt = _gt()
    text = format_report(evaluate(gt, [_as_result(a, 0.9) for a in copy.deepcopy(gt['annotations'])]))
    for key in ('PCK@0.05', 'PCK@0.1', 'PCK@0.2', 'EPE', 'bbox_AP50', 'kpt_AP'):
        assert key in text


def test_strict_pck_mm_levels_worst_images_and_pixel_auc_by_hand():
    gt = _gt()
    gt['images'][0]['pixel_spacing'] = [0.5, 0.25]  # row_mm, col_mm; image 2 has no spacing
    a1, a2, a3 = gt['annotations']
    a1['label'], a3['label'] = 'L1', 'L2'
    results = [_as_result(a1, 0.9, dx=3.0), _as_result(a3, 0.9)]  # a2 missed
    m = evaluate(gt, results, auc_norm_px=30)
    # matched: a1 (4 kps off by 3 px = 0.075 of its 40 px box) and a3 (exact); missed a2 adds 4 wrong
    assert m['strict_PCK@0.05'] == pytest.approx(4 / 12) and m['PCK@0.05'] == pytest.approx(0.5)
    # only image 1 has a spacing: 3 px along x at 0.25 mm/px
    assert m['MRE_mm'] == pytest.approx(0.75) and m['SDR@2mm'] == 1.0
    assert m['per_level']['L1']['EPE'] == pytest.approx(3.0) and m['per_level']['L2']['EPE'] == 0.0
    assert m['worst_images'] == [1, 2]
    # pixel-normalised AUC: 3/30 = 0.1 passes 15 of 20 thresholds, exact points pass 19
    assert m['AUC'] == pytest.approx((15 / 20 + 19 / 20) / 2)
    assert [r['num_matched'] for r in m['per_image']] == [1, 1]


def test_image_without_predictions_and_image_without_gt():
    gt = _gt()
    gt['images'].append({'id': 3, 'width': 200, 'height': 200})  # no vertebra annotated
    a1, a2, a3 = gt['annotations']
    results = [_as_result(a1, 0.9), _as_result(a2, 0.9), dict(_as_result(a1, 0.9), image_id=3)]
    m = evaluate(gt, results)  # image 2 has no prediction, image 3 only a false positive
    assert m['num_gt'] == 3 and m['num_matched'] == 2 and m['num_false_positives'] == 1
    assert m['recall'] == pytest.approx(2 / 3) and m['precision'] == pytest.approx(2 / 3)
    assert m['EPE'] == 0.0 and m['strict_PCK@0.05'] == pytest.approx(8 / 12)
    rows = {r['image_id']: r for r in m['per_image']}
    assert rows[2]['num_matched'] == 0 and np.isnan(rows[2]['EPE'])
    assert rows[3]['num_gt'] == 0 and rows[3]['num_false_positives'] == 1


def test_oks_sigmas_come_from_the_category():
    gt = _gt()
    results = [_as_result(a, 0.9, dx=2.0) for a in gt['annotations']]
    loose = evaluate(gt, results)['kpt_AP']
    gt['categories'][0]['sigmas'] = [0.2] * 4  # much wider tolerance than the 0.025 default
    assert evaluate(gt, results)['kpt_AP'] > loose


def test_mask_ap_only_against_a_gt_that_has_masks():
    """A keypoint-only GT (no segmentation) with results that carry masks: box AP, no mask AP, no crash."""
    from pycocotools import mask as mask_utils
    gt = _gt()
    results = []
    for ann in gt['annotations']:
        rle = mask_utils.frPyObjects(ann['segmentation'], 200, 200)[0]
        rle['counts'] = rle['counts'].decode()
        results.append(dict(_as_result(ann, 0.9), segmentation=rle))
    assert evaluate(gt, results)['segm_AP'] == pytest.approx(1.0)
    for ann in gt['annotations']:
        ann.pop('segmentation')
    gt['annotations'][0]['segmentation'] = []  # CVAT's keypoint export writes an empty list
    m = evaluate(gt, results)
    assert m['bbox_AP'] == pytest.approx(1.0) and 'segm_AP' not in m
