"""make setup installs what CI tested: constraints.txt pins every package the venv holds, at its version (a
new OpenCV once made every overlay label read twice)."""
import os
from importlib import metadata

from tests.conftest import ROOT


def _pins():
    pins = {}
    for line in open(os.path.join(ROOT, 'constraints.txt')):
        line = line.split('#')[0].strip()
        if line:
            name, version = line.split('==')
            pins[name.lower().replace('_', '-')] = version
    return pins


def test_the_packages_that_broke_us_are_pinned_and_installed_at_their_pin():
    pins = _pins()
    for name in ('numpy', 'opencv-python', 'pydicom', 'matplotlib', 'mmdet', 'mmengine', 'mmcv', 'torch'):
        assert name in pins, f'{name} is not pinned in constraints.txt'
        installed = metadata.version(name).split('+')[0]  # torch's +cpu build tag is not part of the pin
        assert installed == pins[name], f'{name} {installed} installed, constraints.txt pins {pins[name]}'
