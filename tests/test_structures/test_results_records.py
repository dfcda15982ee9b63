"""Results records read into vertebra records in one place: names for K, visible points, scores, uncertainty."""
import math

import pytest

from spinekey.structures.results import named_points, resolve_keypoint_names, vertebra_from_result


def test_keypoint_names_for_k():
    assert resolve_keypoint_names(4) == ['top_left', 'top_right', 'bottom_right', 'bottom_left']
    assert resolve_keypoint_names(2, ['a', 'b']) == ['a', 'b']
    assert resolve_keypoint_names(2, None, ['c', 'd']) == ['c', 'd']  # a COCO category's, when none given
    with pytest.raises(ValueError, match='^K=5 keypoints and no default names for that K; pass --keypoint-names$'):
        resolve_keypoint_names(5)
    with pytest.raises(ValueError, match=r'^K=3 keypoints but 2 names were given \(a,b\)$'):
        resolve_keypoint_names(3, ['a', 'b'])


def test_a_result_becomes_a_vertebra():
    record = {'score': 0.9, 'bbox': [1, 2, 3, 4], 'keypoints': [10, 20, 0.8, math.nan, 5, 0.7, 30, 40, 0.1],
              'keypoint_unc': [1.5, 2.0, -1.0]}
    v = vertebra_from_result(record, ['a', 'b', 'c'], kpt_thr=0.2)
    assert v.points == {'a': (10.0, 20.0)}  # b has no x, c scores under the threshold
    assert v.keypoint_scores == {'a': 0.8, 'b': 0.7, 'c': 0.1} and v.score == 0.9 and v.bbox == [1, 2, 3, 4]
    assert v.keypoint_unc == {'a': 1.5, 'b': 2.0}  # a negative uncertainty is no uncertainty
    assert vertebra_from_result(dict(record, keypoint_unc=[1.0]), ['a', 'b', 'c']).keypoint_unc is None
    # ground truth: visible means v > 0
    assert named_points([1, 2, 0, 3, 4, 2], ['a', 'b'], gt=True) == {'b': (3.0, 4.0)}
