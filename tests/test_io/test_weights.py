"""Pretrained weights: the offline path fails with one line and instructions; verification catches bad files."""
import os

import torch

from tests.conftest import run_tool


def _resnet50_state():
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    from spinekey.io.weights import BACKBONES
    register_all_modules()
    return MODELS.build(BACKBONES['resnet50.pth']).state_dict()


def test_offline_download_is_one_clear_line(tmp_path):
    proc = run_tool('tools/download_weights.py', '--file', 'resnet50.pth', '--dest', str(tmp_path),
                    '--endpoint', 'http://127.0.0.1:9', '--retries', '1', timeout=300)
    assert proc.returncode == 2
    err = [line for line in proc.stderr.splitlines() if line.startswith('error: ')]
    assert len(err) == 1 and 'download failed' in err[0] and 'modelscope.cn/models/kyan007/spinekey' in err[0]
    assert 'Traceback' not in proc.stderr
    assert not os.path.exists(tmp_path / 'resnet50.pth')  # nothing half-written


def test_verify_accepts_a_matching_backbone_and_names_what_is_wrong(tmp_path):
    state = _resnet50_state()
    torch.save({'state_dict': state}, tmp_path / 'resnet50.pth')
    ok = run_tool('tools/download_weights.py', '--file', 'resnet50.pth', '--dest', str(tmp_path), '--verify-only')
    assert ok.returncode == 0 and 'OK (' in ok.stdout
    del state['layer4.2.conv3.weight']
    state['conv1.weight'] = torch.zeros(1)
    torch.save(state, tmp_path / 'resnet50.pth')
    bad = run_tool('tools/download_weights.py', '--file', 'resnet50.pth', '--dest', str(tmp_path), '--verify-only')
    assert bad.returncode == 2
    assert 'layer4.2.conv3.weight' in bad.stderr and 'conv1.weight' in bad.stderr


def test_verify_refuses_a_pickle_that_runs_code(tmp_path):
    import pickle

    class Evil:
        def __reduce__(self):
            return (os.system, (f'touch {tmp_path / "pwned"}', ))
    with open(tmp_path / 'resnet50.pth', 'wb') as f:
        pickle.dump({'state_dict': Evil()}, f)
    proc = run_tool('tools/download_weights.py', '--file', 'resnet50.pth', '--dest', str(tmp_path), '--verify-only')
    assert proc.returncode == 2 and 'refused by the safe loader' in proc.stderr
    assert not (tmp_path / 'pwned').exists()
