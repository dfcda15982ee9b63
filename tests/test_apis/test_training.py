import json
import os

import pytest
from mmengine.config import Config

from spinekey.utils.errors import SpineKeyError
from spinekey.apis.training import (drop_missing_pretrained, gpu_loader_workers, newest_checkpoint,
                                    prepare_training_config,
                                     scale_loader_workers)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _cfg(name='spinekey_demo_cpu.py'):
    return Config.fromfile(os.path.join(ROOT, 'configs', 'spinekey', name))


def _write(tmp_path, categories):
    (tmp_path / 'train.json').write_text(json.dumps({'images': [], 'annotations': [], 'categories': categories}))


def test_k_and_classes_come_from_the_dataset(tmp_path):
    names = ['top_left', 'top_right', 'bottom_right', 'bottom_left', 'top_middle', 'bottom_middle']
    _write(tmp_path, [{'id': 1, 'name': 'vertebra', 'keypoints': names}])
    cfg = _cfg()
    cfg.train_dataloader.dataset.update(data_root=str(tmp_path) + '/', ann_file='train.json')
    prepare_training_config(cfg)
    assert cfg.model.roi_head.keypoint_head.num_keypoints == 6


def test_dataset_without_keypoints_trains_plain_detector_with_its_classes(tmp_path):
    _write(tmp_path, [{'id': 1, 'name': 'lesion'}, {'id': 2, 'name': 'screw'}, {'id': 3, 'name': 'cage'}])
    cfg = _cfg()
    cfg.train_dataloader.dataset.update(data_root=str(tmp_path) + '/', ann_file='train.json')
    prepare_training_config(cfg)
    assert 'keypoint_head' not in cfg.model.roi_head
    assert all(h.num_classes == 3 for h in cfg.model.roi_head.bbox_head)
    assert cfg.model.roi_head.mask_head.num_classes == 3
    assert cfg.train_dataloader.dataset.metainfo['classes'] == ('lesion', 'screw', 'cage')


def test_missing_pretrained_backbone_trains_from_scratch(capsys):
    cfg = _cfg('spinekey_cascade-mask-rcnn_x101_fpn_24e.py')
    cfg.model.backbone.init_cfg.checkpoint = 'checkpoints/definitely_missing.pth'
    drop_missing_pretrained(cfg)
    assert cfg.model.backbone.init_cfg is None and cfg.model.backbone.frozen_stages == -1
    assert 'definitely_missing.pth not found' in capsys.readouterr().out


def test_resume_and_amp_switches(tmp_path):
    _write(tmp_path, [{'id': 1, 'name': 'vertebra', 'keypoints': ['a', 'b']}])
    cfg = _cfg()
    cfg.train_dataloader.dataset.update(data_root=str(tmp_path) + '/', ann_file='train.json')
    prepare_training_config(cfg, amp=True, auto_scale_lr=True, resume='auto')
    assert cfg.optim_wrapper.type == 'SpineKeyAmpOptimWrapper' and cfg.auto_scale_lr.enable and cfg.resume
    with pytest.raises(SpineKeyError, match='nope.pth: checkpoint to resume from not found'):
        prepare_training_config(cfg, resume='nope.pth')


def test_resume_picks_the_newest_checkpoint_even_when_last_checkpoint_lags(tmp_path):
    # a run killed after epoch_10.pth was written but before mmengine updated last_checkpoint
    for name in ('epoch_1.pth', 'epoch_2.pth', 'epoch_10.pth', 'best_PCK_epoch_12.pth', 'epoch_3.pth.tmp'):
        (tmp_path / name).write_bytes(b'x')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_2.pth'))
    assert newest_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_10.pth')  # 10 > 2 though '10' < '2'
    cfg = _cfg()
    _write(tmp_path, [{'id': 1, 'name': 'vertebra', 'keypoints': ['a', 'b']}])
    cfg.train_dataloader.dataset.update(data_root=str(tmp_path) + '/', ann_file='train.json')
    cfg.work_dir = str(tmp_path)
    prepare_training_config(cfg, resume='auto')
    assert cfg.resume and cfg.load_from == str(tmp_path / 'epoch_10.pth')
    # an iteration-based checkpoint written after the epoch ones wins by its time
    os.utime(tmp_path / 'epoch_10.pth', (1000, 1000))
    (tmp_path / 'iter_5.pth').write_bytes(b'x')
    assert newest_checkpoint(str(tmp_path)) == str(tmp_path / 'iter_5.pth')


def test_resume_in_an_empty_or_missing_work_dir_starts_afresh(tmp_path):
    (tmp_path / 'best_PCK_epoch_3.pth').write_bytes(b'x')
    assert newest_checkpoint(str(tmp_path)) is None
    assert newest_checkpoint(str(tmp_path / 'absent')) is None


def test_malformed_annotation_file(tmp_path):
    (tmp_path / 'train.json').write_text('{"images": [')
    cfg = _cfg()
    cfg.train_dataloader.dataset.update(data_root=str(tmp_path) + '/', ann_file='train.json')
    with pytest.raises(SpineKeyError, match='train.json: not valid JSON'):
        prepare_training_config(cfg)


def test_evaluator_file_follows_the_dataset_unless_set(tmp_path):
    from spinekey.apis.training import derive_evaluator_ann_files
    cfg = _cfg('spinekey_cascade-mask-rcnn_r50_fpn_24e.py')
    cfg.val_dataloader.dataset.update(data_root='my_spine/', ann_file='val.json')
    cfg.test_dataloader.dataset.update(data_root='my_spine/', ann_file='test.json')
    cfg.test_evaluator[0].ann_file = 'elsewhere/gt.json'  # set by the user: kept
    derive_evaluator_ann_files(cfg)
    assert cfg.val_evaluator[0].ann_file == 'my_spine/val.json'
    assert cfg.test_evaluator[0].ann_file == 'elsewhere/gt.json'
    assert 'ann_file' not in cfg.val_evaluator[1]  # SpineKeypointMetric takes its GT from the samples


@pytest.mark.parametrize('name, says', [
    ('spinekey_demo_cpu.py', 'no pretrained weights (init_cfg=None): training it from scratch'),
    ('spinekey_cascade-mask-rcnn_r50_fpn_24e.py', 'checkpoints/resnet50.pth not found'),
])
def test_every_from_scratch_backbone_is_announced(name, says, capsys):
    cfg = _cfg(name)
    if os.path.exists(os.path.join(ROOT, 'checkpoints', 'resnet50.pth')):
        pytest.skip('an ImageNet ResNet-50 is installed here')
    drop_missing_pretrained(cfg)
    assert says in capsys.readouterr().out


def test_the_pretrained_lite0_backbone_says_nothing(capsys):
    drop_missing_pretrained(_cfg('spinekey_aasce_lite0_cpu.py'))
    assert 'notice' not in capsys.readouterr().out


def test_image_folder_prefix_is_not_doubled(synthetic_dir):
    """file_name 'images/x.png' under data_prefix.img='images/' (the AASCE config's) finds the film."""
    from mmdet.registry import DATASETS
    from mmengine.registry import init_default_scope

    import spinekey  # noqa: F401
    init_default_scope('mmdet')
    ds = DATASETS.build(dict(type='SpineCocoDataset', data_root=synthetic_dir + '/', ann_file='det_train.json',
                             data_prefix=dict(img='images/'), pipeline=[dict(type='LoadImageFromFile')]))
    assert os.path.isfile(ds.get_data_info(0)['img_path'])
    assert type(ds.pipeline.transforms[0]).__name__ == 'LoadSpineImage'  # DICOM-aware behind mmdet's name


@pytest.mark.parametrize('cpus, procs, expected', [(16, 1, 8), (16, 4, 3), (8, 2, 3), (2, 1, 1), (64, 1, 8)])
def test_gpu_loader_workers_share_the_node_cpus(cpus, procs, expected):
    # worked by hand: cpus // procs - 1 (one core left for the training process), clamped to 1..8
    assert gpu_loader_workers(cpus, procs) == expected


def test_loader_workers_follow_the_cores_on_a_gpu_only():
    cfg = _cfg('spinekey_cascade-mask-rcnn_r50_fpn_24e.py')
    configured = cfg.train_dataloader.num_workers
    assert scale_loader_workers(cfg, cuda=False) is None  # CPU: workers would take the model's cores
    assert cfg.train_dataloader.num_workers == configured and not cfg.train_dataloader.get('pin_memory')
    assert scale_loader_workers(cfg, cuda=True, cpus=16, processes_per_node=1) == 8
    loader = cfg.train_dataloader
    assert (loader.num_workers, loader.pin_memory, loader.persistent_workers) == (8, True, True)
    cfg = _cfg('spinekey_aasce_gpu.py')  # never fewer than the config asks for
    assert scale_loader_workers(cfg, cuda=True, cpus=4, processes_per_node=1) == cfg.train_dataloader.num_workers == 4


def test_workers_given_are_used_as_given_on_any_device():
    cfg = _cfg()
    assert scale_loader_workers(cfg, workers=0, cuda=True) == 0
    assert cfg.train_dataloader.num_workers == 0 and cfg.train_dataloader.persistent_workers is False
    with pytest.raises(SpineKeyError, match='--workers -1'):
        scale_loader_workers(cfg, workers=-1)
