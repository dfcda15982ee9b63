"""How far measurements from predicted keypoints are from those of the ground-truth keypoints.

Vertebrae are paired by box IoU (Hungarian); per pair the Genant and Meyerding grades and the slip are
compared, per image the Cobb and lordosis angles. The predicted Cobb angle's uncertainty (``cobb_deg_unc``) and the
film's QC status are checked against the exact error too (``cobb_uncertainty``: the numbers of
spinekey.evaluation.uncertainty_validation, here for one angle per film), when the predictions carry
``keypoint_unc``; ``interval_values`` keeps (predicted, true, uncertainty) of the Cobb angle per film and of the
three heights per paired vertebra, what conformal intervals are fitted and judged on
(spinekey.apis.calibration.fit_columns / judge_columns). The GT side uses the true anterior side when known; the
prediction side reads it from the image, as tools/measure.py does by default, and names its levels from
``pred_bottom_level`` (what a user passes as --bottom-level), so lordosis spans the same levels.
"""
from __future__ import annotations

import os
from typing import Dict, List, Optional

import numpy as np

from spinekey.evaluation.functional.matching import box_iou_xywh, hungarian_match
from spinekey.structures.vertebra import ImageInput
from spinekey.measurement.options import MeasureOptions
from spinekey.measurement.spine import measure_spine


def _side(image: ImageInput, images_dir: Optional[str], fallback: str) -> str:
    if not images_dir:
        return fallback
    import cv2
    from spinekey.measurement.anterior import detect_anterior
    gray = cv2.imread(os.path.join(images_dir, image.file_name), cv2.IMREAD_GRAYSCALE)
    side = detect_anterior(gray, image.vertebrae)[0] if gray is not None else None
    return side or fallback


def measurement_agreement(gt_images: List[ImageInput], pred_images: List[ImageInput],
                          true_anterior: Dict[str, str], images_dir: Optional[str] = None,
                          iou_thr: float = 0.5, pred_bottom_level: Optional[str] = None, qc_thresholds=None) -> dict:
    """MAE of slip %, Cobb and lordosis; accuracy and confusion matrices of the Genant and Meyerding grades.
    ``qc_thresholds`` (spinekey.measurement.qc.QCThresholds, None: the defaults) judge the predicted films."""
    preds = {os.path.basename(im.file_name): im for im in pred_images}
    genant = np.zeros((4, 4), int)
    meyerding = np.zeros((6, 6), int)
    slip_err, cobb_err, lordosis_err, side_ok = [], [], [], []
    cobb_checked = []  # (predicted, true, uncertainty, qc_status) of films whose Cobb angle has an uncertainty
    heights: Dict[str, tuple] = {c: ([], [], []) for c in HEIGHT_COLUMNS}  # (predicted, true, unc) per pair
    matched = total = 0
    for gim in gt_images:
        truth_side = true_anterior.get(gim.file_name, 'left')
        pim = preds.get(os.path.basename(gim.file_name))
        total += len(gim.vertebrae)
        if pim is None or not pim.vertebrae:
            continue
        pred_side = _side(pim if pim.file_name == gim.file_name else ImageInput(
            pim.image_id, gim.file_name, vertebrae=pim.vertebrae), images_dir, truth_side)
        side_ok.append(pred_side == truth_side)
        gm = measure_spine(gim.vertebrae, truth_side)
        pm_levels = pred_bottom_level if len(pim.vertebrae) <= len(gim.vertebrae) else None
        pm = measure_spine(pim.vertebrae, pred_side, options=MeasureOptions(bottom_level=pm_levels, qc=qc_thresholds))
        g_row = {id(v): r for v, r in zip(gm.ordered, gm.vertebrae)}
        p_row = {id(v): r for v, r in zip(pm.ordered, pm.vertebrae)}
        iou = box_iou_xywh([v.bbox for v in gim.vertebrae], [v.bbox for v in pim.vertebrae])
        for g, p, _ in hungarian_match(iou, iou_thr):
            gr, pr = g_row.get(id(gim.vertebrae[g])), p_row.get(id(pim.vertebrae[p]))
            if gr is None or pr is None:
                continue
            matched += 1
            if 'genant_grade' in gr and 'genant_grade' in pr:
                genant[gr['genant_grade'], pr['genant_grade']] += 1
            _keep_heights(heights, pr, gr)
            if 'slip_percent' in gr and 'slip_percent' in pr:
                slip_err.append(abs(gr['slip_percent'] - pr['slip_percent']))
                meyerding[gr['meyerding_grade'], pr['meyerding_grade']] += 1
        for key, errs in (('cobb_deg', cobb_err), ('lordosis_deg', lordosis_err)):
            if gm.image.get(key) is not None and pm.image.get(key) is not None:
                errs.append(abs(gm.image[key] - pm.image[key]))
        if gm.image.get('cobb_deg') is not None and pm.image.get('cobb_deg_unc') is not None:
            cobb_checked.append((pm.image['cobb_deg'], gm.image['cobb_deg'], pm.image['cobb_deg_unc'],
                                 pm.image.get('qc_status')))

    def mean(x):
        return round(float(np.mean(x)), 3) if len(x) else None

    return {'images': len(gt_images), 'gt_vertebrae': total, 'matched_vertebrae': matched,
            'slip_percent_mae': mean(slip_err), 'cobb_deg_mae': mean(cobb_err), 'lordosis_deg_mae': mean(lordosis_err),
            'genant_accuracy': round(float(np.trace(genant) / genant.sum()), 4) if genant.sum() else None,
            'meyerding_accuracy': round(float(np.trace(meyerding) / meyerding.sum()), 4) if meyerding.sum() else None,
            'anterior_side_accuracy': mean(side_ok),
            'genant_confusion': genant.tolist(), 'meyerding_confusion': meyerding.tolist(),
            'cobb_uncertainty': _cobb_uncertainty(cobb_checked),
            'interval_values': _interval_values(cobb_checked, heights)}


HEIGHT_COLUMNS = ['height_anterior_px', 'height_middle_px', 'height_posterior_px']


def _keep_heights(heights: Dict[str, tuple], pred_row: dict, true_row: dict) -> None:
    """Append (predicted, true, uncertainty) of each height that both rows of a pair have, with an uncertainty."""
    for c in HEIGHT_COLUMNS:
        if pred_row.get(c) is not None and true_row.get(c) is not None and pred_row.get(f'{c}_unc') is not None:
            for store, x in zip(heights[c], (pred_row[c], true_row[c], pred_row[f'{c}_unc'])):
                store.append(float(x))


def _interval_values(cobb_checked, heights: Dict[str, tuple]) -> Dict[str, tuple]:
    """``{column: (pred, true, unc) arrays}`` for the columns that have any: the Cobb angle from the films
    the uncertainty check pairs, the heights from the paired vertebrae."""
    values = {'cobb_deg': tuple(zip(*cobb_checked))[:3]} if cobb_checked else {}
    values.update(heights)
    return {c: tuple(np.asarray(a, float) for a in v) for c, v in values.items() if len(v[0])}


def _cobb_uncertainty(checked) -> Optional[dict]:
    """uncertainty_validation.validate on the single Cobb angle per film; None without uncertainties."""
    if not checked:
        return None
    from spinekey.evaluation.uncertainty_validation import validate
    pred, true, unc, status = zip(*checked)
    return validate([[p] for p in pred], [[t] for t in true], [[u] for u in unc], list(status))
