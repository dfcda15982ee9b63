"""Flip test-time augmentation: mirrored predictions brought back by name and averaged (hand-built instances),
and end to end through SpineKeyInferencer."""
import os

import numpy as np
import pytest

from spinekey.apis.flip_tta import flip_perm_for, unflip_instances
from spinekey.apis.twins import merge_twins
from spinekey.structures.keypoint_names import CORNERS_4, flip_permutation
from tests.conftest import hand_built_instances

PERM = flip_permutation(CORNERS_4)  # top_left <-> top_right, bottom_right <-> bottom_left


def test_unflip_mirrors_x_and_swaps_left_and_right_by_name():
    # a vertebra at x 10..30 on a 100 px film, seen mirrored at x 70..90
    mirrored = hand_built_instances([[70, 5, 90, 25]], [[[70, 5], [90, 6], [90, 25], [70, 24]]])
    back = unflip_instances(mirrored, 100, PERM)
    assert back.bboxes.tolist() == [[10, 5, 30, 25]]
    # mirrored top_left (70, 5) is the film's top_right (30, 5); mirrored top_right (90, 6) its top_left (10, 6)
    assert back.keypoints[0].tolist() == [[10, 6], [30, 5], [30, 24], [10, 25]]


def test_merge_averages_twins_and_turns_their_disagreement_into_uncertainty():
    orig = hand_built_instances([[10, 5, 30, 25], [10, 40, 30, 60]],
                                [[[10, 5], [30, 5], [30, 25], [10, 25]], [[10, 40], [30, 40], [30, 60], [10, 60]]],
                                unc=[[1.0] * 4, [1.0] * 4])
    back = hand_built_instances([[11, 5, 31, 25]], [[[16, 13], [30, 5], [30, 25], [10, 25]]], unc=[[1.0] * 4])
    merged = merge_twins(orig, [back])  # what the flip test does with its two passes
    assert merged.keypoints[0, 0].tolist() == [13, 9]       # (10, 5) and (16, 13) average
    assert merged.keypoints[0, 1].tolist() == [30, 5]
    assert abs(merged.keypoint_unc[0, 0] - np.sqrt(1 + 5 ** 2)) < 1e-5  # d = 10: sqrt(1^2 + (10/2)^2)
    assert abs(merged.keypoint_unc[0, 1] - 1.0) < 1e-6
    assert merged.keypoints[1].tolist() == orig.keypoints[1].tolist()  # no twin: its own keypoints
    assert merged.bboxes.tolist() == orig.bboxes.tolist()


def test_the_inferencer_with_flip_test_gives_averaged_keypoints_and_their_uncertainty(trained):
    from spinekey.apis import SpineKeyInferencer
    from tests.conftest import DEMO_CONFIG
    film = os.path.join(trained['data'], 'images', 'synth_000000.png')
    opts = {'model.test_cfg.rcnn.score_thr': 0.0, 'model.test_cfg.rcnn.max_per_img': 10}
    plain = SpineKeyInferencer(DEMO_CONFIG, trained['ckpt'], score_thr=0.0, measure=False, cfg_options=opts)(film)
    flipped = SpineKeyInferencer(DEMO_CONFIG, trained['ckpt'], score_thr=0.0, measure=False, cfg_options=opts,
                                 flip_test=True)(film)
    assert [d['bbox'] for d in flipped.detections] == [d['bbox'] for d in plain.detections]
    assert all(len(d['keypoint_unc']) == 4 and min(d['keypoint_unc']) >= 0 for d in flipped.detections)
    assert all(len(d['keypoint_unc']) == 4 for d in plain.detections)  # the heatmap's spread, without flip too
    # (this 5-iteration test model puts its boxes near one edge whatever the film, so its mirrored boxes may
    # find no twin; the pairing itself is checked on hand-built instances above.) An averaged keypoint lies
    # half the passes' distance from the plain pass, and its uncertainty covers that half.
    half_gap = np.linalg.norm(flipped.keypoints - plain.keypoints, axis=-1)
    flip_unc = np.array([d['keypoint_unc'] for d in flipped.detections])
    assert (flip_unc + 2e-3 >= half_gap).all() and flip_unc.max() > 0


def test_flip_test_needs_left_and_right_names():
    from spinekey.utils.errors import SpineKeyError
    assert flip_perm_for(CORNERS_4) == PERM
    with pytest.raises(SpineKeyError, match="flip test: keypoint 'b_left' flips to 'b_right'"):
        flip_perm_for(['a', 'b_left', 'c', 'd'])
