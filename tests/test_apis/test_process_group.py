"""Closing a gloo process group leaves no gloo threads behind, even when a DDP-wrapped model in a reference
cycle (as mmengine's Runner keeps one) still holds it: threads left for interpreter teardown abort a rank now
and then ("terminate called without an active exception") and fail a torchrun job that did all its work."""
import os
import subprocess
import sys

from tests.conftest import ROOT

SCRIPT = r'''
import os, sys
import torch
import torch.distributed as dist
from spinekey.apis.batch import close_process_group

def gloo_threads():
    names = [open(f'/proc/self/task/{t}/comm').read().strip() for t in os.listdir('/proc/self/task')]
    return sum(name.startswith(('pt_gloo', 'gloo')) for name in names)

dist.init_process_group('gloo', init_method='file://' + sys.argv[1], rank=0, world_size=1)

class Holder:  # a reference cycle, as a Runner and its hooks make
    pass

holder = Holder()
holder.me = holder
holder.model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(2, 2))
del holder
print('open', gloo_threads())
if sys.argv[2] == 'close':
    close_process_group()
else:
    dist.destroy_process_group()
print('closed', gloo_threads())
'''


def _gloo_threads_after(how, tmp_path):
    proc = subprocess.run([sys.executable, '-c', SCRIPT, str(tmp_path / 'store'), how], cwd=ROOT,
                          capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, OMP_NUM_THREADS='1', PYTHONWARNINGS='ignore'))
    assert proc.returncode == 0, proc.stderr[-2000:]
    counts = dict(line.split() for line in proc.stdout.splitlines() if line.startswith(('open', 'closed')))
    return int(counts['open']), int(counts['closed'])


def test_close_process_group_leaves_no_gloo_threads_behind(tmp_path):
    opened, closed = _gloo_threads_after('close', tmp_path)
    assert opened > 0 and closed == 0


def test_a_plain_destroy_would_leave_them_to_interpreter_teardown(tmp_path):
    """Why close_process_group collects garbage first: without it the cycle keeps the backend alive."""
    opened, closed = _gloo_threads_after('destroy', tmp_path)
    assert closed == opened > 0
