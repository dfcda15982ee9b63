"""Mask-corner baseline: the corners of a drawn rotated rectangle come back, named by position."""
import math

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from spinekey.evaluation.mask_corner_baseline import mask_corners, results_with_mask_corners
from spinekey.structures.vertebra import name_quad_corners


def _rle(poly, h=200, w=200):
    m = np.zeros((h, w), np.uint8)
    cv2.fillPoly(m, [np.round(np.asarray(poly) * 16).astype(np.int32)], 1, shift=4)
    rle = mask_utils.encode(np.asfortranarray(m))
    rle['counts'] = rle['counts'].decode()
    return rle


def test_rotated_rectangle_corners_come_back():
    c, r = np.array([100.0, 100.0]), math.radians(10)
    u, d = np.array([math.cos(r), math.sin(r)]), np.array([-math.sin(r), math.cos(r)])
    truth = {'top_left': c - 40 * u - 20 * d, 'top_right': c + 40 * u - 20 * d,
             'bottom_right': c + 40 * u + 20 * d, 'bottom_left': c - 40 * u + 20 * d}
    got = mask_corners(_rle([truth[n] for n in ('top_left', 'top_right', 'bottom_right', 'bottom_left')]))
    for name, point in truth.items():
        assert np.linalg.norm(got[name] - point) < 1.5  # pixel rasterisation of the mask


def test_naming_by_position_and_empty_mask():
    named = name_quad_corners([[10, 12], [0, 0], [10, 0], [0, 12]])
    assert named['top_left'].tolist() == [0, 0] and named['bottom_right'].tolist() == [10, 12]
    empty = mask_utils.encode(np.zeros((20, 20), np.uint8, order='F'))
    assert mask_corners(empty) is None


def test_results_get_corner_keypoints_and_keep_the_rest():
    res = [{'image_id': 1, 'bbox': [50, 70, 100, 60], 'score': 0.9,
            'segmentation': _rle([[50, 70], [150, 70], [150, 130], [50, 130]]), 'keypoints': [0] * 18,
            'keypoint_unc': [1.0] * 6}]
    out = results_with_mask_corners(res, ['top_left', 'top_right', 'bottom_right', 'bottom_left', 'top_middle',
                                          'bottom_middle'])
    kps = np.array(out[0]['keypoints']).reshape(6, 3)
    assert kps[0, :2] == pytest.approx([50, 70], abs=1.0) and kps[2, :2] == pytest.approx([150, 130], abs=1.0)
    assert kps[4, 2] == 0 and res[0]['keypoints'] == [0] * 18  # input untouched
    assert 'keypoint_unc' not in out[0] and 'keypoint_unc' in res[0]  # the head's uncertainty is not the mask's
