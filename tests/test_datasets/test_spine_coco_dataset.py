import json
import os

import pytest
from mmengine.registry import init_default_scope

import spinekey  # noqa: F401
from spinekey.datasets import SpineCocoDataset
from spinekey.utils.errors import SpineKeyError

PIPELINE = [dict(type='LoadImageFromFile'),
            dict(type='LoadSpineAnnotations', with_bbox=True, with_mask=True, with_keypoints=True),
            dict(type='KeypointResize', scale=(256, 256), keep_ratio=True),
            dict(type='PackSpineInputs')]


def _dataset(root, ann='det_train.json'):
    init_default_scope('mmdet')
    return SpineCocoDataset(data_root=root, ann_file=ann, data_prefix=dict(img=''), pipeline=PIPELINE)


def test_reads_keypoints_names_and_spacing(synthetic_dir):
    ds = _dataset(synthetic_dir)
    assert ds.metainfo['keypoint_names'] == ['top_left', 'top_right', 'bottom_right', 'bottom_left']
    info = ds.get_data_info(0)
    assert info['pixel_spacing'] == [0.3, 0.3]
    assert all(inst['keypoints'].shape == (4, 3) and inst['level'] for inst in info['instances'])
    sample = ds[0]
    gt = sample['data_samples'].gt_instances
    assert gt.keypoints.shape[1:] == (4, 2) and len(gt.keypoints) == len(gt.bboxes)
    # resized 384x512 -> 192x256: keypoints halve with the image
    raw = info['instances'][0]['keypoints'][:, :2]
    assert abs(float(gt.keypoints[0, 0, 0]) - raw[0, 0] / 2) < 1e-3


def _rewrite(src_root, tmp_path, edit):
    coco = json.load(open(os.path.join(src_root, 'det_train.json')))
    edit(coco)
    for im in coco['images']:
        im['file_name'] = os.path.join(src_root, im['file_name'])
    path = tmp_path / 'bad.json'
    path.write_text(json.dumps(coco))
    return str(path)


def test_wrong_keypoint_count_names_file_and_annotation(synthetic_dir, tmp_path):
    def edit(coco):
        coco['annotations'][2]['keypoints'] = coco['annotations'][2]['keypoints'][:9]
    path = _rewrite(synthetic_dir, tmp_path, edit)
    with pytest.raises(SpineKeyError, match=rf"bad.json: annotation {3} has 9 keypoint values, expected 12"):
        _dataset('', path)


def test_missing_image_is_named(synthetic_dir, tmp_path):
    def edit(coco):
        coco['images'][0]['file_name'] = 'images/nope.png'
    path = _rewrite(synthetic_dir, tmp_path, edit)
    with pytest.raises(SpineKeyError, match='1 unusable image\\(s\\): .*nope.png: image file not found'):
        _dataset('', path)


def test_missing_annotation_file(tmp_path):
    with pytest.raises(SpineKeyError, match='annotation file not found'):
        _dataset(str(tmp_path), 'none.json')
