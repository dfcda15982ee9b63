"""MMDetection's own entry points on SpineKey configs and checkpoints: init_detector + inference_detector,
DetInferencer, and the Runner.test() workflow of tools/test.py."""
import glob
import json
import os
import pickle
import re

import cv2
import numpy as np
import pytest
import torch

import spinekey  # noqa: F401  (registers the modules)
from tests.conftest import DEMO_CONFIG, ROOT, run_tool

CONFIGS = sorted(glob.glob(os.path.join(ROOT, 'configs', 'spinekey', '*.py')))


@pytest.fixture(scope='module')
def film(trained):
    return os.path.join(trained['data'], 'images', 'synth_000000.png')


def test_init_detector_and_inference_detector_on_a_path_an_array_and_a_dicom(trained, film, tmp_path):
    from mmdet.apis import inference_detector, init_detector
    model = init_detector(DEMO_CONFIG, trained['ckpt'], device='cpu',
                          cfg_options={'model.test_cfg.rcnn.score_thr': 0.0})
    by_path = inference_detector(model, film).pred_instances
    # a DICOM film as a PACS export names it (no .dcm), through mmdet's own loader name: the same answer
    from tests.test_io.test_dicom import write_dicom
    export = tmp_path / 'IM0001'
    write_dicom(export, cv2.imread(film, cv2.IMREAD_GRAYSCALE), window=(127.5, 256))
    by_dicom = inference_detector(model, str(export)).pred_instances
    # an array last: mmdet's inference_detector turns the model's own pipeline to arrays for good
    by_array = inference_detector(model, cv2.imread(film)).pred_instances
    assert len(by_path) > 0 and by_path.keypoints.shape == (len(by_path), 4, 2)
    assert by_path.keypoint_scores.shape == (len(by_path), 4)
    assert torch.allclose(by_path.keypoints, by_array.keypoints, atol=1e-3)  # same film, same answer
    assert torch.allclose(by_dicom.keypoints, by_path.keypoints, atol=1e-3)


def test_det_inferencer_returns_keypoints_and_draws_them(trained, film, tmp_path):
    from mmdet.apis import DetInferencer
    inferencer = DetInferencer(model=DEMO_CONFIG, weights=trained['ckpt'], device='cpu', show_progress=False)
    out = inferencer(film, out_dir=str(tmp_path), return_datasamples=True, pred_score_thr=0.0)
    pred = out['predictions'][0].pred_instances
    assert pred.keypoints.shape[1:] == (4, 2)
    drawn = cv2.imread(str(tmp_path / 'vis' / 'synth_000000.png'))
    assert drawn is not None and drawn.shape == cv2.imread(film).shape
    from tests.test_io.test_dicom import write_dicom
    dicom = write_dicom(tmp_path / 'scan.dcm', cv2.imread(film, cv2.IMREAD_GRAYSCALE), window=(127.5, 256))
    from_dicom = inferencer(str(dicom), return_datasamples=True, pred_score_thr=0.0, no_save_vis=True)
    assert torch.allclose(from_dicom['predictions'][0].pred_instances.keypoints, pred.keypoints, atol=1e-3)


@pytest.mark.parametrize('path', CONFIGS, ids=os.path.basename)
def test_every_config_has_a_test_pipeline_mmdet_inference_can_use(path, film):
    """The pipelines DetInferencer and inference_detector build from the config run on a path and an array."""
    from mmdet.apis import DetInferencer
    from mmdet.utils import get_test_pipeline_cfg
    from mmengine.config import Config
    from mmengine.dataset import Compose
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    cfg = Config.fromfile(path)
    inferencer_pipeline = DetInferencer._init_pipeline(DetInferencer.__new__(DetInferencer), cfg.copy())
    packed = inferencer_pipeline(film)
    assert packed['inputs'].ndim == 3 and len(packed['data_samples'].gt_instances) == 0
    steps = get_test_pipeline_cfg(cfg.copy())
    steps[0].type = 'mmdet.LoadImageFromNDArray'
    packed = Compose(steps)(dict(img=cv2.imread(film), img_id=0))
    assert packed['inputs'].shape[0] == 3


def test_a_checkpoint_of_another_k_is_refused_by_the_mmdet_apis(tmp_path):
    from mmdet.apis import init_detector

    from spinekey.apis import init_model
    from spinekey.utils.errors import SpineKeyError
    six = init_model(DEMO_CONFIG, cfg_options={'model.roi_head.keypoint_head.num_keypoints': 6})
    torch.save({'state_dict': six.state_dict(), 'meta': {}}, tmp_path / 'k6.pth')
    with pytest.raises(SpineKeyError, match='predicts K=6 keypoints but this model was built for K=4'):
        init_detector(DEMO_CONFIG, str(tmp_path / 'k6.pth'), device='cpu')


def test_tools_test_runs_runner_test_and_writes_results(trained, tmp_path):
    data_opts = [f'test_dataloader.dataset.data_root={trained["data"]}/', 'test_dataloader.num_workers=0',
                 'test_dataloader.persistent_workers=False', 'model.test_cfg.rcnn.score_thr=0.0']
    proc = run_tool('tools/test.py', DEMO_CONFIG, trained['ckpt'], '--work-dir', str(tmp_path / 'w'),
                    '--out', str(tmp_path / 'results.json'), '--cfg-options', *data_opts, check=True)
    assert 'test metrics: spine/PCK@0.05=' in proc.stdout
    results = json.loads((tmp_path / 'results.json').read_text())
    test_gt = json.load(open(os.path.join(trained['data'], 'det_test.json')))
    assert {r['image_id'] for r in results} == {im['id'] for im in test_gt['images']}
    assert results[0]['file_name'] == test_gt['images'][0]['file_name'] and len(results[0]['keypoints']) == 12
    run_tool('tools/test.py', DEMO_CONFIG, trained['ckpt'], '--work-dir', str(tmp_path / 'w'),
             '--out', str(tmp_path / 'results.pkl'), '--cfg-options', *data_opts, check=True)
    dumped = pickle.load(open(tmp_path / 'results.pkl', 'rb'))  # our own file, written just above
    assert len(dumped) == len(test_gt['images']) and 'pred_instances' in dumped[0]


# tools/test.py as torchrun starts it, then the gloo threads still alive once it returns: any left die with the
# interpreter, which aborts a rank now and then and fails a run that did all its work
REPORT_LEFTOVER_THREADS = '''
import os, runpy, sys
sys.argv = ['tools/test.py'] + sys.argv[1:]
try:
    runpy.run_path('tools/test.py', run_name='__main__')
except SystemExit as done:
    names = [open(f'/proc/self/task/{t}/comm').read().strip() for t in os.listdir('/proc/self/task')]
    print(f'rank {os.environ["RANK"]} gloo threads left: {sum(n.startswith(("pt_gloo", "gloo")) for n in names)}')
    raise
'''


def test_tools_test_under_torchrun(trained, tmp_path):
    import subprocess
    import sys
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONWARNINGS='ignore', PYTHONPATH=ROOT)
    (tmp_path / 'launch.py').write_text(REPORT_LEFTOVER_THREADS)
    proc = subprocess.run(
        [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2',
         str(tmp_path / 'launch.py'),
         DEMO_CONFIG, trained['ckpt'], '--launcher', 'pytorch', '--work-dir', str(tmp_path / 'w'),
         '--out', str(tmp_path / 'results.json'), '--cfg-options',
         f'test_dataloader.dataset.data_root={trained["data"]}/', 'test_dataloader.num_workers=0',
         'test_dataloader.persistent_workers=False', 'env_cfg.dist_cfg.backend=gloo'],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'test metrics: spine/PCK@0.05=' in proc.stdout
    assert isinstance(json.loads((tmp_path / 'results.json').read_text()), list)
    # the ranks' lines can interleave in stdout
    assert sorted(re.findall(r'rank (\d) gloo threads left: (\d+)', proc.stdout)) == [('0', '0'), ('1', '0')]


@pytest.mark.parametrize('extra, message', [
    (['--cfg-options', 'test_evaluator=None'], 'the config has no test_dataloader/test_evaluator'),
    (['--out', 'x.txt'], '--out x.txt: give a .json (results.json) or .pkl file'),
])
def test_tools_test_bad_input_is_one_line(trained, extra, message):
    proc = run_tool('tools/test.py', DEMO_CONFIG, trained['ckpt'], *extra)
    assert proc.returncode == 2 and 'Traceback' not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(f'error: {message}')


def test_spine_visualizer_draws_keypoints():
    """A keypoint of index 0 lands as the first palette colour at its pixel; boxes are drawn as mmdet does."""
    from mmengine.structures import InstanceData

    from spinekey.visualization.spine_visualizer import KEYPOINT_RGB, SpineLocalVisualizer
    vis = SpineLocalVisualizer(name=f'kp{np.random.randint(1 << 30)}')
    inst = InstanceData(bboxes=torch.tensor([[5., 5., 20., 20.]]), labels=torch.tensor([0]),
                        scores=torch.tensor([0.9]), keypoints=torch.tensor([[[60., 70.], [5., 5.]]]))
    drawn = vis._draw_instances(np.zeros((100, 100, 3), np.uint8), inst, ['vertebra'], [(255, 255, 255)])
    assert tuple(drawn[70, 60]) == KEYPOINT_RGB[0]
    assert tuple(np.zeros((100, 100, 3), np.uint8)[70, 60]) != KEYPOINT_RGB[0]
