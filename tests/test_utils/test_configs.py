"""Every shipped config loads and builds its model; the AASCE training pipeline runs on real-format data."""
import glob
import os

import numpy as np
import pytest
from mmengine.config import Config

import spinekey  # noqa: F401  (registers the modules)
from tests.conftest import ROOT

CONFIGS = sorted(glob.glob(os.path.join(ROOT, 'configs', 'spinekey', '*.py')))


@pytest.mark.parametrize('path', CONFIGS, ids=os.path.basename)
def test_config_builds_its_model(path):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(path)
    cfg.model.backbone.init_cfg = None  # no pretrained files in the test
    model = MODELS.build(cfg.model)
    assert model.roi_head.with_keypoint


TRAINED_CONFIGS = sorted(glob.glob(os.path.join(ROOT, 'configs', '*', '*.py')))


@pytest.mark.parametrize('path', TRAINED_CONFIGS, ids=lambda p: os.path.relpath(p, os.path.join(ROOT, 'configs')))
def test_an_epoch_schedule_ends_with_its_training(path):
    """A config that trains by epochs and decays its learning rate by epochs ends the decay at its last epoch: a
    child that changes max_epochs without its schedule would train on at the floor or stop before it."""
    cfg = Config.fromfile(path)
    loop = cfg.get('train_cfg') or {}
    if 'max_epochs' not in loop:
        pytest.skip('no epoch-based training loop')
    decays = [s for s in cfg.get('param_scheduler') or [] if s.get('by_epoch', True) and 'end' in s]
    assert decays, 'an epoch-based config without an epoch-based schedule'
    assert decays[-1]['end'] == loop['max_epochs']


REFINER_CONFIGS = sorted(glob.glob(os.path.join(ROOT, 'configs', 'refiner', '*.py')))


@pytest.mark.parametrize('path', REFINER_CONFIGS, ids=os.path.basename)
def test_a_refiner_is_framed_the_same_in_training_and_at_inference(path):
    """The patch its model reads (model.patch_size), the one inference cuts (refine) and the one training cuts
    (the patch dataset) are one size with one context: a child that changes one of them alone would train or
    infer on patches the codec maps back wrong."""
    cfg = Config.fromfile(path)
    data = cfg.train_dataloader.dataset
    assert cfg.refine['patch_size'] == cfg.model.patch_size == data['patch_size']
    assert cfg.refine['context'] == data['context'] and cfg.refine['oriented'] == data['oriented']
    assert cfg.model.heatmap_size * 4 == cfg.model.patch_size  # the fused stride-4 features


@pytest.mark.parametrize('name', ['spinekey_aasce_cpu.py', 'spinekey_aasce_lite0_clahe_cpu.py'])
def test_aasce_train_pipeline_on_a_converted_sample(tmp_path, name):
    from mmdet.registry import DATASETS
    from mmdet.utils import register_all_modules

    from spinekey.converters.aasce import read_aasce, to_coco
    from spinekey.io.atomic import atomic_write_json
    from tests.test_converters.test_aasce_convert import write_sample
    register_all_modules()
    write_sample(str(tmp_path / 'src'))
    atomic_write_json(tmp_path / 'fold0_train.json', to_coco(read_aasce(str(tmp_path / 'src'))))
    os.symlink(tmp_path / 'src', tmp_path / 'images')
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', 'spinekey', name))
    ds_cfg = cfg.train_dataloader.dataset
    ds_cfg.data_root = str(tmp_path) + '/'
    ds = DATASETS.build(ds_cfg)
    np.random.seed(0)
    for i in range(6):  # random flips, scales and rotations
        sample = ds[i % len(ds)]
        inst = sample['data_samples'].gt_instances
        h, w = sample['data_samples'].img_shape
        assert max(h, w) <= 1024 * 1.15 + 1
        kps = inst.keypoints.numpy()
        visible = inst.keypoints_visible.numpy()
        assert kps.shape[1:] == (4, 2) and len(kps) == len(inst.bboxes) >= 15
        boxes = inst.bboxes.tensor.numpy() if hasattr(inst.bboxes, 'tensor') else inst.bboxes.numpy()
        # every visible corner lies inside (or on the edge of) its own vertebra's box
        assert np.all(kps[..., 0][visible] >= np.repeat(boxes[:, None, 0], 4, 1)[visible] - 1.5)
        assert np.all(kps[..., 0][visible] <= np.repeat(boxes[:, None, 2], 4, 1)[visible] + 1.5)


def test_gpu_recipe_trains_on_cpu(tmp_path):
    """Issue 18: the GPU recipe's config runs on a CPU too (its own model, pipeline, optimizer and hooks; the
    films shrunk to 512 px and batch 1, one iteration, so that it takes seconds)."""
    from spinekey.benchmarks.train_loop import loop_runner
    from spinekey.converters.aasce import read_aasce, to_coco
    from spinekey.io.atomic import atomic_write_json
    from tests.test_converters.test_aasce_convert import write_sample
    write_sample(str(tmp_path / 'src'))
    atomic_write_json(tmp_path / 'fold0_train.json', to_coco(read_aasce(str(tmp_path / 'src'))))
    child = tmp_path / 'gpu_small.py'
    child.write_text(
        f"_base_ = [{os.path.join(ROOT, 'configs', 'spinekey', 'spinekey_aasce_gpu.py')!r}]\n"
        "train_pipeline = [dict(t, scale=(512, 256)) if t['type'] == 'RandomResize' else t\n"
        "                  for t in _base_.train_pipeline]\n"
        "train_dataloader = dict(dataset=dict(pipeline=train_pipeline))\n"
        "model = dict(backbone=dict(init_cfg=None))\n")
    runner = loop_runner(str(child), str(tmp_path / 'src') + '/', str(tmp_path / 'fold0_train.json'), iters=1,
                         batch_size=1, workers=0, work_dir=str(tmp_path / 'work'))
    cfg = runner.cfg
    assert cfg.model.backbone.depth == 50 and cfg.optim_wrapper.optimizer.type == 'SGD'  # the GPU recipe's own
    runner.train()
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert runner.iter == 1 and np.isfinite(loss) and loss > 0
