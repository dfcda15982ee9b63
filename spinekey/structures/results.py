"""Results records (results.json's entries, docs/architecture.md "File formats"): made from the model's
``InstanceData`` once per film, and read into vertebra records (``VertebraInput``) in one place, whether they
come from a run in this process or from a file.
"""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence

import numpy as np

from spinekey.structures.keypoint_names import keypoint_names_for
from spinekey.structures.vertebra import VertebraInput

# The one default score threshold: a detection below it is not a vertebra for results files (tools/infer.py,
# inference.sh), measurements, exports, evaluation and QC fitting alike (docs/aasce.md: 0.1-0.3 are within the
# noise between folds). Every tool's --score-thr and SpineKeyInferencer's score_thr default to it.
DEFAULT_SCORE_THR = 0.3


def _rle(mask: np.ndarray) -> dict:
    from pycocotools import mask as mask_utils
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    rle['counts'] = rle['counts'].decode('ascii')
    return rle


def instances_to_coco(pred_instances, image_id: int, file_name: str, score_thr: float = 0.0,
                      category_ids=None) -> List[dict]:
    """COCO results for one image: bbox [x, y, w, h], score, RLE segmentation, keypoints [x, y, s]*K and, when
    the model gives it, keypoint_unc [px]*K (each keypoint's uncertainty, 1 sd); refined instances
    (spinekey.apis.refined_test_loop) also keypoints_stage1 [x, y, s]*K, as tools/refine.py writes it.

    ``category_ids`` maps label index -> COCO category id (default label + 1).
    """
    p = pred_instances.cpu()
    keep = (p.scores >= score_thr).numpy()
    boxes = p.bboxes.numpy()[keep]
    scores = p.scores.numpy()[keep]
    labels = p.labels.numpy()[keep]
    masks = p.masks.numpy()[keep] if 'masks' in p else None
    kps = p.keypoints.numpy()[keep] if 'keypoints' in p else None
    kp_scores = p.keypoint_scores.numpy()[keep] if 'keypoints' in p else None
    kp_unc = p.keypoint_unc.numpy()[keep] if 'keypoint_unc' in p else None
    stage1 = p.keypoints_stage1.numpy()[keep] if 'keypoints_stage1' in p else None
    out = []
    for i in range(len(boxes)):
        x1, y1, x2, y2 = (float(v) for v in boxes[i])
        label = int(labels[i])
        entry = {'image_id': image_id, 'file_name': file_name,
                 'category_id': category_ids[label] if category_ids else label + 1,
                 'bbox': [round(x1, 2), round(y1, 2), round(x2 - x1, 2), round(y2 - y1, 2)],
                 'score': round(float(scores[i]), 5)}
        if masks is not None:
            entry['segmentation'] = _rle(masks[i])
        if kps is not None:
            flat = np.concatenate([kps[i], kp_scores[i][:, None]], axis=1)
            entry['keypoints'] = [round(float(v), 3) for v in flat.reshape(-1)]
        if kp_unc is not None:
            entry['keypoint_unc'] = [round(float(v), 3) for v in kp_unc[i]]
        if stage1 is not None:
            flat = np.concatenate([stage1[i], kp_scores[i][:, None]], axis=1)
            entry['keypoints_stage1'] = [round(float(v), 2) for v in flat.reshape(-1)]
        out.append(entry)
    return out


def is_finite_number(v) -> bool:
    """A real int/float (not bool) that is neither NaN nor infinite."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def resolve_keypoint_names(num_keypoints: int, given: Optional[Sequence[str]] = None,
                           category_names: Optional[Sequence[str]] = None) -> List[str]:
    """The names of a record's K keypoints: ``given`` (a user's or a model's), else a COCO category's, else the
    default 4-corner / 6-point set. Raises ValueError (with what to do) when none fits K."""
    names = list(given or category_names or [])
    if not names:
        try:
            return keypoint_names_for(num_keypoints)
        except ValueError:
            raise ValueError(f'K={num_keypoints} keypoints and no default names for that K; pass --keypoint-names') \
                from None
    if len(names) != num_keypoints:
        raise ValueError(f'K={num_keypoints} keypoints but {len(names)} names were given '
                         f'({",".join(names)})')
    return names


def named_points(keypoints: Sequence[float], names: Sequence[str], gt: bool = False,
                 kpt_thr: float = 0.0) -> Dict[str, tuple]:
    """Visible keypoints by name from a flat [x, y, v]*K list: ground truth needs v > 0, predictions a score
    >= kpt_thr; NaN/inf coordinates are dropped."""
    pts = {}
    for j, name in enumerate(names):
        x, y, v = keypoints[3 * j:3 * j + 3]
        if not (is_finite_number(x) and is_finite_number(y)):
            continue
        if (gt and v > 0) or (not gt and (not is_finite_number(v) or v >= kpt_thr)):
            pts[name] = (float(x), float(y))
    return pts


def vertebra_from_result(record: dict, names: Sequence[str], kpt_thr: float = 0.0) -> VertebraInput:
    """The vertebra record of one results entry (keypoints by name, score, box, per-keypoint score and
    uncertainty); ``names`` must match its K (resolve_keypoint_names)."""
    kps = record['keypoints']
    scores = {n: float(kps[3 * j + 2]) for j, n in enumerate(names) if is_finite_number(kps[3 * j + 2])}
    unc = record.get('keypoint_unc')
    unc = ({n: float(u) for n, u in zip(names, unc) if is_finite_number(u) and u >= 0}
           if isinstance(unc, list) and len(unc) == len(names) else None)
    return VertebraInput(named_points(kps, names, False, kpt_thr), record.get('score'), None, record.get('bbox'),
                         scores, unc, filled=bool(record.get('filled')))
