"""Rotation test-time augmentation: the turn of the film and of its keypoints agree (hand-worked 90 degree
cases, OpenCV's own matrix), passes are paired and averaged (hand-built instances), and end to end through
SpineKeyInferencer (inference.sh --rotate_test: tests/test_tools/test_pipeline.py)."""
import os

import cv2
import numpy as np
import pytest
import torch

from spinekey.apis.rotate_tta import rotate_film, rotation_matrix, rotation_test_angles, unrotate_instances
from spinekey.apis.twins import merge_twins
from tests.conftest import hand_built_instances


def test_the_matrix_is_opencvs_about_the_films_centre():
    for degrees in (4.0, -7.5, 90.0):
        ours = rotation_matrix(degrees, 505, 1485)
        theirs = cv2.getRotationMatrix2D((505 / 2, 1485 / 2), degrees, 1.0)
        assert np.allclose(ours, theirs, atol=1e-9)


def test_a_pixel_and_its_keypoint_land_in_the_same_place():
    # 10 x 10 film, one bright pixel at row 2, column 7 (continuous centre x 7.5, y 2.5). Turned 90 degrees
    # counter-clockwise on screen about (5, 5): x' = y - 5 + 5 = 2.5, y' = 5 - (x - 5) = 2.5 -> row 2, column 2.
    img = np.zeros((10, 10), np.uint8)
    img[2, 7] = 255
    turned = rotate_film(img, 90.0)
    assert np.unravel_index(np.argmax(turned), turned.shape) == (2, 2) and turned[2, 2] == 255
    point = rotation_matrix(90.0, 10, 10) @ np.array([7.5, 2.5, 1.0])
    assert np.allclose(point, [2.5, 2.5])


def test_unrotate_brings_keypoints_and_boxes_back():
    # a prediction made on the 90-degree-turned 10 x 10 film at (2.5, 2.5) is the film's (7.5, 2.5)
    seen = hand_built_instances([[2, 2, 3, 4]], [[[2.5, 2.5], [3.0, 4.0]]], unc=[[1.5, 2.0]])
    back = unrotate_instances(seen, 90.0, 10, 10)
    assert np.allclose(back.keypoints[0].tolist(), [[7.5, 2.5], [6.0, 3.0]], atol=1e-5)
    # box corners (2,2),(3,2),(3,4),(2,4) turn back to (8,2),(8,3),(6,3),(6,2): bounding box 6..8 x 2..3
    assert np.allclose(back.bboxes[0].tolist(), [6, 2, 8, 3], atol=1e-5)
    assert back.keypoint_unc.tolist() == seen.keypoint_unc.tolist()  # a turn keeps distances
    # any angle: turning forward then back is the identity
    pts = torch.tensor([[[100.0, 40.0], [260.0, 900.0]]])
    forward = torch.tensor(rotation_matrix(-4.0, 505, 1485), dtype=torch.float32)
    moved = hand_built_instances([[0, 0, 505, 1485]], (pts @ forward[:, :2].T + forward[:, 2]).tolist())
    assert np.allclose(unrotate_instances(moved, -4.0, 505, 1485).keypoints.numpy(), pts.numpy(), atol=1e-3)


def test_three_passes_average_and_their_spread_becomes_uncertainty():
    orig = hand_built_instances([[0, 0, 10, 10], [0, 50, 10, 60]], [[[0, 0], [10, 0]], [[0, 50], [10, 50]]],
                                unc=[[1.0, 1.0], [1.0, 1.0]])
    turned_a = hand_built_instances([[0, 0, 10, 11]], [[[3, 0], [10, 0]]], unc=[[1.0, 1.0]])
    turned_b = hand_built_instances([[0, 1, 10, 10], [30, 80, 40, 90]], [[[0, 3], [10, 0]], [[30, 80], [40, 80]]])
    merged = merge_twins(orig, [turned_a, turned_b])
    # (0,0), (3,0), (0,3): mean (1,1); squared distances 2, 5, 5 -> mean 4, d = 2; spread: the two passes
    # that carry one, both 1 -> unc sqrt(1 + 4)
    assert np.allclose(merged.keypoints[0, 0].tolist(), [1, 1])
    assert abs(float(merged.keypoint_unc[0, 0]) - np.sqrt(5)) < 1e-5
    assert np.allclose(merged.keypoints[0, 1].tolist(), [10, 0]) and abs(float(merged.keypoint_unc[0, 1]) - 1) < 1e-6
    assert merged.keypoints[1].tolist() == orig.keypoints[1].tolist()  # no twin in either pass (IoU 0)
    assert merged.bboxes.tolist() == orig.bboxes.tolist()


def test_rotate_test_angles():
    assert rotation_test_angles(4) == (4.0, -4.0) and rotation_test_angles(-3) == (3.0, -3.0)
    assert rotation_test_angles(0) == () and rotation_test_angles(None) == ()
    for bad in (60, float('nan'), 'four', [4]):
        with pytest.raises(ValueError, match='rotate_test must be between 0 and 45 degrees, got '):
            rotation_test_angles(bad)


def test_the_inferencer_with_rotate_test_gives_averaged_keypoints_and_their_uncertainty(trained):
    from spinekey.apis import SpineKeyInferencer
    from tests.conftest import DEMO_CONFIG
    film = os.path.join(trained['data'], 'images', 'synth_000000.png')
    opts = {'model.test_cfg.rcnn.score_thr': 0.0, 'model.test_cfg.rcnn.max_per_img': 10}
    plain = SpineKeyInferencer(DEMO_CONFIG, trained['ckpt'], score_thr=0.0, measure=False, cfg_options=opts)(film)
    turned = SpineKeyInferencer(DEMO_CONFIG, trained['ckpt'], score_thr=0.0, measure=False, cfg_options=opts,
                                rotate_test=3.0)(film)
    assert [d['bbox'] for d in turned.detections] == [d['bbox'] for d in plain.detections]
    moved = np.linalg.norm(turned.keypoints - plain.keypoints, axis=-1)
    assert moved.max() > 0  # the turned passes found twins and moved the corners
    # three points with mean m and RMS distance d to it: none lies farther than sqrt(2) d from m, and the
    # keypoint's uncertainty includes d
    unc = np.array([d['keypoint_unc'] for d in turned.detections])
    assert (unc + 2e-3 >= moved / np.sqrt(2)).all()


def test_a_bad_rotate_test_is_one_line(trained):
    from spinekey.apis import SpineKeyInferencer
    from spinekey.utils.errors import SpineKeyError
    from tests.conftest import DEMO_CONFIG
    with pytest.raises(SpineKeyError, match=r'^rotate_test must be between 0 and 45 degrees, got 90$'):
        SpineKeyInferencer(DEMO_CONFIG, trained['ckpt'], measure=False, rotate_test=90)
