import pytest

from spinekey.converters.gt_conversion import convert_gt, reorder_keypoints
from spinekey.utils.errors import SpineKeyError

SPINETK = ['bottom_left', 'bottom_right', 'top_right', 'top_left']
MODEL = ['top_left', 'top_right', 'bottom_right', 'bottom_left']


def _gt(names):
    kps = {'top_left': (0, 0), 'top_right': (10, 0), 'bottom_right': (10, 5), 'bottom_left': (0, 5)}
    flat = [v for n in names for v in (*kps[n], 2)]
    return {'images': [{'id': 7, 'file_name': 'sub/a.png'}, {'id': 8, 'file_name': 'b.png'}],
            'annotations': [{'id': 1, 'image_id': 7, 'category_id': 1, 'bbox': [0, 0, 10, 5], 'keypoints': flat},
                            {'id': 2, 'image_id': 8, 'category_id': 1, 'bbox': [0, 0, 10, 5], 'keypoints': flat}],
            'categories': [{'id': 1, 'name': 'vertebra', 'keypoints': names}]}


def test_reorder_by_name():
    flat = [1, 1, 2, 2, 2, 2, 3, 3, 2, 4, 4, 2]
    assert reorder_keypoints(flat, ['a', 'b', 'c', 'd'], ['d', 'c', 'b', 'a']) == [4, 4, 2, 3, 3, 2, 2, 2, 2, 1, 1, 2]


def test_restricts_to_result_images_rekeys_and_reorders():
    results = [{'image_id': 0, 'file_name': 'a.png'}, {'image_id': 1, 'file_name': 'missing.png'}]
    gts, unmatched = convert_gt(_gt(SPINETK), results, MODEL)
    assert unmatched == ['missing.png']
    assert [im['id'] for im in gts['images']] == [0] and gts['annotations'][0]['image_id'] == 0
    assert gts['annotations'][0]['keypoints'] == [0, 0, 2, 10, 0, 2, 10, 5, 2, 0, 5, 2]
    assert gts['categories'][0]['keypoints'] == MODEL


def test_different_keypoint_sets_are_one_clear_error():
    with pytest.raises(SpineKeyError, match=r'K=4 vs K=6'):
        convert_gt(_gt(SPINETK), [{'image_id': 0, 'file_name': 'a.png'}], MODEL + ['top_middle', 'bottom_middle'])
