"""Interruptions, full disks, untrusted checkpoints and concurrent runs: nothing is lost or half-written."""
import errno
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from tests.conftest import DEMO_CONFIG, ROOT, run_tool

KILLED_WRITER = r'''
import os, sys, time
from spinekey.io import atomic
target, marker = sys.argv[1], sys.argv[2]
with atomic.atomic_open(target, 'w') as f:
    f.write('{"partial": ' + '1' * 100000)
    f.flush()
    open(marker, 'w').close()   # tell the test we are mid-write
    time.sleep(60)              # SIGKILL arrives here
    f.write('}')
'''


def test_sigkill_mid_write_leaves_the_previous_file_intact(tmp_path):
    target, marker = tmp_path / 'results.json', tmp_path / 'writing'
    target.write_text('{"previous": true}')
    proc = subprocess.Popen([sys.executable, '-c', KILLED_WRITER, str(target), str(marker)], cwd=ROOT)
    for _ in range(1200):  # up to a minute: on two busy cores the writer's imports alone took over 10 s once
        if marker.exists() or proc.poll() is not None:
            break
        time.sleep(0.05)
    assert marker.exists(), f'the writer never started writing (exit {proc.poll()})'
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert json.loads(target.read_text()) == {'previous': True}
    fresh = tmp_path / 'fresh.json'
    proc = subprocess.Popen([sys.executable, '-c', KILLED_WRITER, str(fresh), str(tmp_path / 'w2')], cwd=ROOT)
    while not (tmp_path / 'w2').exists():
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not fresh.exists()  # no file rather than a truncated one


def test_disk_full_is_one_line_and_writes_nothing(synthetic_dir, tmp_path, monkeypatch, capsys):
    """measure.py on a full disk (fsync raising ENOSPC): exit 2, one line, no output file."""
    import runpy

    from spinekey.io import atomic

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(atomic.os, 'fsync', full)
    out = tmp_path / 'm'
    monkeypatch.setattr(sys, 'argv', ['measure.py', '--input', os.path.join(synthetic_dir, 'det_val.json'),
                                      '--out', str(out), '--anterior', 'left'])
    with pytest.raises(SystemExit) as code:
        runpy.run_path(os.path.join(ROOT, 'tools', 'measure.py'), run_name='__main__')
    assert code.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith('error: ') and 'No space left on device' in err[-1]
    assert not out.exists() or not any(p.suffix in ('.csv', '.json') for p in out.iterdir())


def test_checkpoint_for_another_k_names_the_keys(untrained_checkpoint, synthetic_dir, tmp_path):
    import shutil
    from spinekey.io.checkpoint import load_checkpoint_file
    ckpt = load_checkpoint_file(untrained_checkpoint)
    ckpt['meta']['dataset_meta']['keypoint_names'] = ['a', 'b', 'c', 'd', 'e', 'f']
    path = tmp_path / 'k6.pth'
    torch.save(ckpt, path)
    images = tmp_path / 'images'
    images.mkdir()
    shutil.copy(os.path.join(synthetic_dir, 'images', 'synth_000000.png'), images)
    proc = run_tool('tools/infer.py', '--config', DEMO_CONFIG, '--checkpoint', str(path), '--images-dir',
                    str(images), '--out', str(tmp_path / 'r.json'))
    assert proc.returncode == 2 and 'Traceback' not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert 'do not fit this model' in last and 'keypoint' in last


def _inference_sh(ckpt, images, out, *extra):
    env = dict(os.environ, PYTHON=sys.executable, PYTHONWARNINGS='ignore')
    return subprocess.Popen(['bash', 'inference.sh', '--images_dir', str(images), '--ckpt', ckpt,
                             '--cfg_det_path', DEMO_CONFIG, '--output_dir', str(out), '--device', 'cpu',
                             '--score_thr', '0.0', *extra], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def test_parallel_runs_into_different_folders_and_a_locked_folder(untrained_checkpoint, synthetic_dir, tmp_path):
    images = os.path.join(synthetic_dir, 'images')
    a, b = _inference_sh(untrained_checkpoint, images, tmp_path / 'a'), \
        _inference_sh(untrained_checkpoint, images, tmp_path / 'b')
    out_a, out_b = a.communicate(timeout=600), b.communicate(timeout=600)
    assert a.returncode == 0 and b.returncode == 0, (out_a[1][-500:], out_b[1][-500:])
    ra = json.loads((tmp_path / 'a' / 'results.json').read_text())
    rb = json.loads((tmp_path / 'b' / 'results.json').read_text())
    assert [r['file_name'] for r in ra] == [r['file_name'] for r in rb]
    for x, y in zip(ra, rb):
        assert x['bbox'] == pytest.approx(y['bbox'], abs=0.05)
    held = tmp_path / 'held'
    held.mkdir()
    holder = subprocess.Popen(['flock', str(held / '.spinekey.lock'), 'sleep', '60'])
    try:
        time.sleep(0.5)
        blocked = _inference_sh(untrained_checkpoint, images, held)
        _, err = blocked.communicate(timeout=120)
        assert blocked.returncode == 3 and 'is in use by another run' in err
        assert not (held / 'results.json').exists()
    finally:
        holder.kill()
        holder.wait()
