"""The original SpineKey's way to get corners: the minimum-area rectangle of each predicted mask's contour,
its four corners named by position. Kept as the baseline the keypoint head has to beat."""
from __future__ import annotations

import copy
from typing import List, Optional, Sequence

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from spinekey.structures.vertebra import name_quad_corners


def mask_corners(segmentation: dict) -> Optional[dict]:
    """Named corners of the minimum-area rectangle around the largest contour of an RLE mask (None if empty)."""
    m = mask_utils.decode(segmentation)
    contours, _ = cv2.findContours(m.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    contour = max(contours, key=cv2.contourArea)
    return name_quad_corners(cv2.boxPoints(cv2.minAreaRect(contour)))


def results_with_mask_corners(results: List[dict], names: Sequence[str]) -> List[dict]:
    """A copy of ``results`` whose keypoints are the mask corners (the 4 corner names; other keypoints of a
    larger set get score 0); detections without a mask keep no keypoint (all scores 0). The keypoint head's
    ``keypoint_unc`` is dropped with its keypoints."""
    out = copy.deepcopy(results)
    for r in out:
        corners = mask_corners(r['segmentation']) if r.get('segmentation') else None
        kps = []
        for name in names:
            if corners is not None and name in corners:
                kps += [float(corners[name][0]), float(corners[name][1]), 1.0]
            else:
                kps += [0.0, 0.0, 0.0]
        r['keypoints'] = kps
        r.pop('keypoint_unc', None)  # the head's uncertainty says nothing about the mask's corners
    return out
