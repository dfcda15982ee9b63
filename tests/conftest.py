"""Shared fixtures: a tiny synthetic dataset generated once per test session."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO_CONFIG = os.path.join(ROOT, 'configs', 'spinekey', 'spinekey_demo_cpu.py')


@pytest.fixture(scope='session')
def synthetic_dir(tmp_path_factory):
    """12 small synthetic radiographs (4 corners), split 10/1/1 by the generator."""
    from spinekey.datasets.synthetic import SyntheticSpec, write_dataset
    out = tmp_path_factory.mktemp('synthetic')
    write_dataset(str(out), 12, SyntheticSpec(min_vertebrae=5, max_vertebrae=7), seed=3)
    return str(out)


def run_tool(*args, check=False, timeout=900):
    """Run ``python tools/<args>`` from the repo root; returns the CompletedProcess."""
    env = dict(os.environ, PYTHONWARNINGS='ignore')
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, env=env,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f'{args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}')
    return proc
