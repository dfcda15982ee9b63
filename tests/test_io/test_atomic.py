import json
import os

import pytest

from spinekey.io.atomic import atomic_open, atomic_write_json


def test_failure_mid_write_keeps_the_previous_file(tmp_path):
    path = tmp_path / 'results.json'
    atomic_write_json(path, {'v': 1})
    with pytest.raises(RuntimeError):
        with atomic_open(path, 'w') as f:
            f.write('{"v": 2, "trunc')
            raise RuntimeError('killed')
    assert json.loads(path.read_text()) == {'v': 1}
    assert os.listdir(tmp_path) == ['results.json']  # no temporary left behind


def test_write_creates_folders_and_replaces(tmp_path):
    path = tmp_path / 'a' / 'b.json'
    atomic_write_json(path, [1])
    atomic_write_json(path, [2])
    assert json.loads(path.read_text()) == [2]


def test_read_mode_is_refused(tmp_path):
    with pytest.raises(ValueError):
        with atomic_open(tmp_path / 'x', 'r'):
            pass


def test_outputs_get_the_mode_open_would_give(tmp_path):
    """mkstemp's 0600 would make every output private to its user; the umask decides, as for open()."""
    import os
    import stat

    from spinekey.io.atomic import atomic_write_text
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / 'a.txt', 'x')
        with open(tmp_path / 'b.txt', 'w') as f:
            f.write('x')
    finally:
        os.umask(old)
    mode = stat.S_IMODE(os.stat(tmp_path / 'a.txt').st_mode)
    assert mode == stat.S_IMODE(os.stat(tmp_path / 'b.txt').st_mode) == 0o644
