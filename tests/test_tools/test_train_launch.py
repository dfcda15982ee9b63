"""train.sh on CPU: two gloo ranks that both step; SIGKILL mid-training, then --resume to the end."""
import os
import signal
import subprocess
import sys
import time

from mmengine.config import Config

from spinekey.io.checkpoint import load_checkpoint_file
from tests.conftest import DEMO_CONFIG, ROOT

SMALL = ['train_cfg.val_interval=100', 'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
         'train_dataloader.persistent_workers=False']


def _data(root):
    """Point training and validation at the test's synthetic set (never at the repo's data/)."""
    return [f'train_dataloader.dataset.data_root={root}/', f'val_dataloader.dataset.data_root={root}/']


def _train_sh(*args, **kwargs):
    env = dict(os.environ, PYTHON=sys.executable, PYTHONWARNINGS='ignore')
    return subprocess.Popen(['bash', 'train.sh', '--cpu', '--config', DEMO_CONFIG, *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            **kwargs)


def test_two_cpu_ranks_share_the_data(synthetic_dir, tmp_path):
    # --workers 0 instead of SMALL's num_workers options: train.sh's switch reaches the loader
    proc = _train_sh('--nproc', '2', '--work-dir', str(tmp_path), '--port', '29631', '--workers', '0',
                     '--cfg-options', *_data(synthetic_dir), 'train_cfg.max_epochs=1', *SMALL[:2])
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out[-3000:]
    assert '+ ' in out and 'torch.distributed.run' in out and '--nproc_per_node 2' in out  # echoed command
    assert 'Distributed training: True' in out and 'GPU number: 2' in out  # mmengine's world size line
    ckpt = load_checkpoint_file(str(tmp_path / 'epoch_1.pth'))
    # 10 images, 2 per batch: one process needs 5 steps, two ranks split the epoch into 3 steps each
    assert ckpt['meta']['iter'] == 3
    dumped = Config.fromfile(str(tmp_path / os.path.basename(DEMO_CONFIG)))  # the config mmengine trained with
    assert dumped.train_dataloader.num_workers == 0 and dumped.train_dataloader.persistent_workers is False


def test_sigkill_then_resume_finishes_from_the_last_checkpoint(synthetic_dir, tmp_path):
    # 4 of the 10 films (mmengine's dataset ``indices``): 2 steps an epoch, so the three epochs stay short
    opts = ['--cfg-options', *_data(synthetic_dir), 'train_cfg.max_epochs=3', 'train_dataloader.dataset.indices=4',
            'default_hooks.checkpoint.interval=1', *SMALL]
    proc = _train_sh('--work-dir', str(tmp_path), *opts)
    deadline = time.time() + 600
    while not (tmp_path / 'epoch_1.pth').exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.5)
    assert proc.poll() is None, f'training ended before it could be killed:\n{proc.communicate()[0][-3000:]}'
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert (tmp_path / 'epoch_1.pth').exists() and not (tmp_path / 'epoch_3.pth').exists()
    first = load_checkpoint_file(str(tmp_path / 'epoch_1.pth'))
    assert first['meta']['iter'] == 2 and 'optimizer' in first

    proc = _train_sh('--work-dir', str(tmp_path), '--resume', *opts)
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out[-3000:]
    assert 'resumed epoch: 1, iter: 2' in out or 'resumed epoch: 2, iter: 4' in out
    final = load_checkpoint_file(str(tmp_path / 'epoch_3.pth'))
    assert final['meta']['iter'] == 6 and final['meta']['epoch'] == 3
