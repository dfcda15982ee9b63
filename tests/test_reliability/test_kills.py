"""SIGKILL while a checkpoint or an evaluation report is being written, and crafted checkpoints fed to tools.

The kill lands at the worst moment: the bytes are written to disk but not yet renamed into place. The child
process stalls in ``fsync`` (patched) to give the test that moment; everything else is the real code path
(mmengine's ``save_checkpoint`` with our ``atomic_local`` backend, ``tools/evaluate_keypoints.py``).
"""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from tests.conftest import DEMO_CONFIG, ROOT, run_tool
from tests.test_io.test_checkpoint import _Payload

STALL_IN_FSYNC = r'''
import os, sys, time
from spinekey.io import atomic
marker = sys.argv[1]
def stall(fd):
    open(marker, 'w').close()   # the bytes are written; the rename has not happened
    time.sleep(120)             # SIGKILL arrives here
atomic.os.fsync = stall
'''

SAVE_CHECKPOINT = STALL_IN_FSYNC + r'''
import torch
import spinekey.io.checkpoint  # registers the atomic_local backend
from mmengine.runner.checkpoint import save_checkpoint
save_checkpoint({'state_dict': {'w': torch.full((512, 512), 2.0)}, 'meta': {'epoch': 2}}, sys.argv[2],
                backend_args=dict(backend='atomic_local'))
'''

RUN_TOOL = STALL_IN_FSYNC + r'''
import runpy
sys.argv = sys.argv[2:]
runpy.run_path(sys.argv[0], run_name='__main__')
'''


def _kill_when_writing(code, marker, *args):
    proc = subprocess.Popen([sys.executable, '-c', code, str(marker), *map(str, args)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONWARNINGS='ignore'))
    deadline = time.time() + 300
    while not marker.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert marker.exists(), f'the child never reached its write: {proc.stderr.read()[-800:] if proc.poll() else ""}'
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return proc


def test_sigkill_while_saving_a_checkpoint_keeps_the_previous_one(tmp_path):
    from mmengine.runner.checkpoint import save_checkpoint

    from spinekey.io.checkpoint import load_checkpoint_file
    target = tmp_path / 'latest.pth'
    save_checkpoint({'state_dict': {'w': torch.ones(512, 512)}, 'meta': {'epoch': 1}}, str(target),
                    backend_args=dict(backend='atomic_local'))
    _kill_when_writing(SAVE_CHECKPOINT, tmp_path / 'writing', target)
    ckpt = load_checkpoint_file(str(target))
    assert ckpt['meta']['epoch'] == 1 and torch.equal(ckpt['state_dict']['w'], torch.ones(512, 512))

    fresh = tmp_path / 'epoch_2.pth'
    _kill_when_writing(SAVE_CHECKPOINT, tmp_path / 'writing2', fresh)
    assert not fresh.exists()  # no checkpoint rather than a truncated one that --resume would pick


def _results_from_gt(gt):
    return [{'image_id': a['image_id'], 'category_id': a['category_id'], 'bbox': a['bbox'], 'score': 0.9,
             'keypoints': [v if i % 3 != 2 else 1.0 for i, v in enumerate(a['keypoints'])]}
            for a in gt['annotations']]


def test_sigkill_while_evaluation_writes_keeps_the_previous_report(synthetic_dir, tmp_path):
    gt_file = os.path.join(synthetic_dir, 'det_val.json')
    results = tmp_path / 'results.json'
    results.write_text(json.dumps(_results_from_gt(json.load(open(gt_file)))))
    out = tmp_path / 'eval' / 'evaluation_indicators.txt'
    args = ['tools/evaluate_keypoints.py', '--gt_file', gt_file, '--result_file', results, '--output', out]
    run_tool(*map(str, args), check=True)
    before = {p.name: p.read_bytes() for p in out.parent.iterdir()}
    assert {'evaluation_indicators.txt', 'metrics.json'} <= set(before)
    assert json.loads(before['metrics.json'])['EPE'] == pytest.approx(0.0, abs=1e-6)

    _kill_when_writing(RUN_TOOL, tmp_path / 'writing', *args)
    after = {p.name: p.read_bytes() for p in out.parent.iterdir() if not p.name.endswith('.tmp')}
    assert after == before  # every earlier output byte for byte; nothing half-written beside them

    fresh = tmp_path / 'fresh' / 'evaluation_indicators.txt'
    _kill_when_writing(RUN_TOOL, tmp_path / 'writing2', *args[:-1], fresh)
    assert not fresh.exists() and not (fresh.parent / 'metrics.json').exists()


@pytest.mark.parametrize('tool', ['infer', 'download_weights'])
def test_crafted_checkpoint_given_to_a_tool_is_refused_and_runs_nothing(tool, synthetic_dir, tmp_path):
    marker = tmp_path / 'pwned'
    evil = tmp_path / 'resnet50.pth'
    torch.save({'state_dict': {}, 'meta': _Payload(str(marker))}, evil)
    if tool == 'infer':
        proc = run_tool('tools/infer.py', '--config', DEMO_CONFIG, '--checkpoint', str(evil), '--images-dir',
                        os.path.join(synthetic_dir, 'images'), '--out', str(tmp_path / 'r.json'))
    else:
        proc = run_tool('tools/download_weights.py', '--verify-only', '--file', 'resnet50.pth', '--dest',
                        str(tmp_path))
    assert proc.returncode != 0 and 'Traceback' not in proc.stderr
    assert 'refused by the safe loader' in proc.stderr.strip().splitlines()[-1]
    assert not marker.exists() and not (tmp_path / 'r.json').exists()
