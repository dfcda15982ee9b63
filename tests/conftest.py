"""Shared fixtures: a tiny synthetic dataset generated once per test session."""
import os
import subprocess
import sys

import pytest

# `make test` runs two xdist workers on CI's two cores: one math thread each, and in the tools they start (the
# variable is inherited), so that torch in two workers and their subprocesses does not oversubscribe the cores.
if os.environ.get('PYTEST_XDIST_WORKER'):
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    import torch
    torch.set_num_threads(1)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO_CONFIG = os.path.join(ROOT, 'configs', 'spinekey', 'spinekey_demo_cpu.py')


@pytest.fixture(scope='session')
def synthetic_dir(tmp_path_factory):
    """12 small synthetic radiographs (4 corners), split 10/1/1 by the generator."""
    from spinekey.datasets.synthetic import SyntheticSpec, write_dataset
    out = tmp_path_factory.mktemp('synthetic')
    write_dataset(str(out), 12, SyntheticSpec(min_vertebrae=5, max_vertebrae=7), seed=3)
    return str(out)


RANDOM_REFINER_CONFIG = '''
default_scope = 'mmdet'
custom_imports = dict(imports=['spinekey'], allow_failed_imports=False)
model = dict(type='VertebraRefiner', backbone=dict(type='EfficientNetLite', pretrained=False, frozen_stages=-1,
             out_indices=(0, 1, 2)), in_channels=(24, 40, 112), num_keypoints=4, patch_size=64, heatmap_size=16,
             channels=16)
refine = dict(patch_size=64, context=1.5, oriented=True, passes=1)
'''


@pytest.fixture(scope='session')
def refiner_files(tmp_path_factory):
    """An untrained refiner (random weights, 4 corners) saved as a checkpoint with its keypoint names, and its
    config: (config path, checkpoint path)."""
    import torch
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import spinekey  # noqa: F401
    from mmdet.registry import MODELS
    from spinekey.structures.keypoint_names import CORNERS_4
    root = tmp_path_factory.mktemp('refiner')
    (root / 'refiner.py').write_text(RANDOM_REFINER_CONFIG)
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(str(root / 'refiner.py')).model)
    torch.save({'state_dict': model.state_dict(), 'meta': {'dataset_meta': {'keypoint_names': list(CORNERS_4)}}},
               root / 'refiner.pth')
    return str(root / 'refiner.py'), str(root / 'refiner.pth')


def run_tool(*args, check=False, timeout=900):
    """Run ``python tools/<args>`` from the repo root; returns the CompletedProcess."""
    env = dict(os.environ, PYTHONWARNINGS='ignore')
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, env=env,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f'{args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}')
    return proc


FEW_ITERS = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=100', 'train_dataloader.batch_size=2',
             'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False']


@pytest.fixture(scope='session')
def trained(synthetic_dir, tmp_path_factory):
    """A demo-config checkpoint after 5 iterations on 10 synthetic images (shared by every test module).

    Seeded: a 5-iteration model's detections are near its anchors, so tests that pair them (the rotation
    test's twins) would otherwise pass or fail with mmengine's random seed of the day."""
    work = tmp_path_factory.mktemp('work')
    run_tool('tools/train.py', DEMO_CONFIG, '--work-dir', str(work), '--cfg-options',
             f'train_dataloader.dataset.data_root={synthetic_dir}/',
             f'val_dataloader.dataset.data_root={synthetic_dir}/', 'randomness.seed=0', *FEW_ITERS, check=True)
    ckpt = (work / 'last_checkpoint').read_text().strip()
    return {'ckpt': ckpt, 'work': work, 'data': synthetic_dir}


def hand_built_instances(boxes, kps, unc=None):
    """mmengine InstanceData of hand-written boxes [x1, y1, x2, y2] and keypoints [N, K, 2] (scores 1), with
    ``keypoint_unc`` when given: predictions for the test-time augmentation tests."""
    import torch
    from mmengine.structures import InstanceData
    inst = InstanceData(bboxes=torch.tensor(boxes, dtype=torch.float32),
                        keypoints=torch.tensor(kps, dtype=torch.float32),
                        keypoint_scores=torch.ones(len(kps), len(kps[0])))
    if unc is not None:
        inst.keypoint_unc = torch.tensor(unc, dtype=torch.float32)
    return inst
