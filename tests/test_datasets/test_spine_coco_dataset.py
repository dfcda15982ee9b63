import json
import os

import numpy as np
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


def _shoelace(xy):
    x, y = np.asarray(xy, float).T
    return 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def test_a_keypoint_only_coco_file_trains_with_masks_drawn_through_the_corners(synthetic_dir, tmp_path, monkeypatch):
    """CVAT's "COCO Keypoints" export writes segmentation [], detectron2 keypoint sets none: mmdet would stop on
    KeyError 'mask' at the first batch."""
    def edit(coco):
        for ann in coco['annotations']:
            ann['segmentation'] = []
        del coco['annotations'][1]['segmentation']
        kps = coco['annotations'][2]['keypoints']
        kps[2] = kps[5] = 0  # two corners left: the box stands in for the outline
    path = _rewrite(synthetic_dir, tmp_path, edit)
    coco = json.load(open(path))
    logged = []  # mmengine's logger keeps the stream it first met, which capsys does not see
    monkeypatch.setattr('spinekey.datasets.spine_coco_dataset.print_log', lambda msg, **kw: logged.append(msg))
    ds = _dataset('', path)
    first = [a for a in coco['annotations'] if a['image_id'] == coco['images'][0]['id']]
    assert len(logged) == 1 and f'{len(coco["annotations"])} annotation(s) without a mask' in logged[0]
    instances = ds.get_data_info(0)['instances']
    for ann, inst in zip(first, instances):
        (poly,) = inst['mask']
        kps = np.asarray(ann['keypoints'], float).reshape(4, 3)
        if ann['id'] == 3:  # top_left and top_right hidden
            x, y, w, h = ann['bbox']
            assert poly == [x, y, x + w, y, x + w, y + h, x, y + h]
        else:  # top_left, top_right, bottom_right, bottom_left: the category's order is already around the body
            assert np.allclose(poly, kps[:, :2].reshape(-1))
    masks = ds[0]['data_samples'].gt_instances.masks.masks  # the pipeline halves 384x512 to 192x256
    ann = next(a for a in first if a['id'] not in (3,))
    k = first.index(ann)
    area = _shoelace(np.asarray(ann['keypoints'], float).reshape(4, 3)[:, :2] / 2)
    assert abs(masks[k].sum() - area) < 0.15 * area


def test_a_keypoint_only_gt_is_validated_without_mask_ap(synthetic_dir, tmp_path, capsys):
    from mmengine.config import ConfigDict

    from spinekey.apis.training import derive_evaluator_ann_files
    path = _rewrite(synthetic_dir, tmp_path, lambda coco: [a.pop('segmentation') for a in coco['annotations']])
    cfg = ConfigDict(val_dataloader=dict(dataset=dict(data_root='', ann_file=path)),
                     val_evaluator=[dict(type='CocoMetric', ann_file=None, metric=['bbox', 'segm']),
                                    dict(type='SpineKeypointMetric')])
    derive_evaluator_ann_files(cfg)
    assert cfg.val_evaluator[0].metric == ['bbox'] and cfg.val_evaluator[0].ann_file == path
    assert 'annotations have no mask (segmentation): validated without mask AP' in capsys.readouterr().out
    with_masks = ConfigDict(val_dataloader=dict(dataset=dict(data_root=synthetic_dir, ann_file='det_train.json')),
                            val_evaluator=[dict(type='CocoMetric', ann_file=None, metric=['bbox', 'segm'])])
    derive_evaluator_ann_files(with_masks)
    assert with_masks.val_evaluator[0].metric == ['bbox', 'segm']
