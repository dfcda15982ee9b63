import os

import numpy as np
import pytest
import torch
from mmengine.logging.history_buffer import HistoryBuffer

import spinekey  # noqa: F401  (allow-lists mmengine checkpoint types)
from spinekey.io.checkpoint import AtomicLocalBackend, load_checkpoint_file, load_model_weights
from spinekey.utils.errors import SpineKeyError


class _Payload:
    """Unpickling this runs os.system: what a malicious checkpoint would do."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}',))


def test_crafted_checkpoint_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': _Payload(str(marker))}, path)
    with pytest.raises(SpineKeyError, match='refused by the safe loader'):
        load_checkpoint_file(str(path))
    assert not marker.exists()


def test_mmengine_style_checkpoint_loads_safely(tmp_path):
    buf = HistoryBuffer()
    buf.update(1.5)
    ckpt = {'state_dict': {'w': torch.ones(2)}, 'meta': {'epoch': 3, 'seed': np.int64(5)},
            'message_hub': {'log_scalars': {'loss': buf}, 'runtime_info': {'arr': np.zeros(3)}}}
    path = tmp_path / 'ok.pth'
    torch.save(ckpt, path)
    loaded = load_checkpoint_file(str(path))
    assert loaded['meta']['epoch'] == 3
    assert loaded['message_hub']['log_scalars']['loss'].current() == 1.5


def test_shape_mismatch_names_the_keys(tmp_path):
    path = tmp_path / 'k6.pth'
    torch.save({'state_dict': {'weight': torch.zeros(6, 3), 'bias': torch.zeros(6)}}, path)
    model = torch.nn.Linear(3, 4)
    with pytest.raises(SpineKeyError, match=r'weight \(6, 3\) vs model \(4, 3\)'):
        load_model_weights(model, str(path))


def test_not_a_checkpoint_and_missing(tmp_path):
    bad = tmp_path / 'bad.pth'
    bad.write_bytes(b'not a zip or pickle')
    with pytest.raises(SpineKeyError, match='bad.pth'):
        load_checkpoint_file(str(bad))
    with pytest.raises(SpineKeyError, match='not found'):
        load_checkpoint_file(str(tmp_path / 'none.pth'))


def test_atomic_backend_replaces_whole_files(tmp_path):
    backend = AtomicLocalBackend()
    target = tmp_path / 'epoch_1.pth'
    backend.put(b'abc', str(target))
    backend.put_text('last', str(tmp_path / 'last_checkpoint'))
    assert target.read_bytes() == b'abc' and (tmp_path / 'last_checkpoint').read_text() == 'last'
    assert sorted(os.listdir(tmp_path)) == ['epoch_1.pth', 'last_checkpoint']


def test_dataset_meta_of_a_checkpoint_with_and_without_one(tmp_path):
    from spinekey.io.checkpoint import checkpoint_dataset_meta
    names = ['top_left', 'top_right', 'bottom_right', 'bottom_left']
    torch.save({'state_dict': {}, 'meta': {'dataset_meta': {'classes': ('vertebra',), 'keypoint_names': names}}},
               tmp_path / 'with.pth')
    torch.save({'state_dict': {}, 'meta': {'epoch': 1}}, tmp_path / 'without.pth')
    torch.save({'state_dict': {}}, tmp_path / 'bare.pth')
    assert checkpoint_dataset_meta(str(tmp_path / 'with.pth')) == {'classes': ('vertebra',), 'keypoint_names': names}
    assert checkpoint_dataset_meta(str(tmp_path / 'without.pth')) == {}
    assert checkpoint_dataset_meta(str(tmp_path / 'bare.pth')) == {}
    with pytest.raises(SpineKeyError, match='checkpoint not found'):
        checkpoint_dataset_meta(str(tmp_path / 'none.pth'))
