"""Image faults: each bad file gets a one-line reason; odd-but-valid files are read correctly."""
import os

import cv2
import numpy as np
import pytest

from spinekey.io.image_checks import image_problem
from spinekey.io.images import read_image
from spinekey.utils.errors import SpineKeyError
from tests.test_reliability.faults import write_image_faults


@pytest.fixture(scope='module')
def faults(tmp_path_factory, synthetic_dir):
    folder = str(tmp_path_factory.mktemp('faults'))
    good = cv2.imread(os.path.join(synthetic_dir, 'images', 'synth_000000.png'))
    return folder, write_image_faults(folder, good)


def test_every_image_fault_is_named_and_valid_oddities_load(faults):
    folder, expected = faults
    for name, outcome in expected.items():
        path = os.path.join(folder, name)
        if outcome == 'ok':
            img = read_image(path)
            assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3, name
            assert image_problem(path) is None, name
        else:
            with pytest.raises(SpineKeyError) as err:
                read_image(path)
            message = str(err.value)
            assert message.startswith(path) and '\n' not in message, name
            assert outcome in (image_problem(path) or ''), (name, image_problem(path))
    missing = os.path.join(folder, 'missing.png')
    assert image_problem(missing) == 'image file not found'


def test_exif_orientation_is_applied(faults):
    folder, _ = faults
    img = read_image(os.path.join(folder, 'exif_rotated.jpg'))
    assert img.shape[:2] == (80, 40)               # portrait after rotation
    assert img[:10].mean() > 200 > img[20:].mean()  # the bright band is now on top


def test_sixteen_bit_keeps_its_contrast(faults, synthetic_dir):
    folder, _ = faults
    img = read_image(os.path.join(folder, 'sixteen_bit.png'))
    assert img.min() == 0 and img.max() == 255


def test_huge_header_refused_before_decoding(faults, monkeypatch):
    folder, _ = faults
    monkeypatch.setattr(cv2, 'imdecode', lambda *a, **k: pytest.fail('decoded a refused image'))
    with pytest.raises(SpineKeyError, match='too large .*refused before decoding'):
        read_image(os.path.join(folder, 'huge_header.png'))


def test_inference_skips_each_bad_file_with_a_reason_and_keeps_the_rest(faults, untrained_checkpoint, tmp_path):
    from tests.conftest import DEMO_CONFIG, run_tool
    folder, expected = faults
    out = tmp_path / 'results.json'
    proc = run_tool('tools/infer.py', '--config', DEMO_CONFIG, '--checkpoint', untrained_checkpoint,
                    '--images-dir', folder, '--out', str(out), '--device', 'cpu', '--score-thr', '0.0',
                    '--summary-csv', str(tmp_path / 'summary.csv'), '--skip-bad-images')  # as inference.sh runs it
    assert proc.returncode == 0, proc.stderr
    assert 'Traceback' not in proc.stderr
    skipped = (tmp_path / 'skipped.txt').read_text().splitlines()
    bad = sorted(n for n, o in expected.items() if o != 'ok')
    assert sorted(os.path.basename(line.split(':')[0]) for line in skipped) == bad
    for line in skipped:
        assert expected[os.path.basename(line.split(':')[0])] in line
    summary = (tmp_path / 'summary.csv').read_text()
    for name, outcome in expected.items():
        assert f'{name},{"ok" if outcome == "ok" else "skipped"}' in summary
    strict = run_tool('tools/infer.py', '--config', DEMO_CONFIG, '--checkpoint', untrained_checkpoint,
                      '--images-dir', folder, '--out', str(tmp_path / 'strict.json'), '--device', 'cpu')
    assert strict.returncode == 2 and strict.stderr.strip().splitlines()[-1].startswith('error: ')
    assert not (tmp_path / 'strict.json').exists()


def test_training_refuses_naming_every_bad_file_or_skips_them(faults, synthetic_dir, tmp_path):
    import json
    import shutil

    from mmdet.registry import DATASETS
    from mmdet.utils import register_all_modules

    from spinekey.utils.errors import SpineKeyError
    from tests.conftest import DEMO_CONFIG, run_tool
    folder, expected = faults
    gt = json.load(open(os.path.join(synthetic_dir, 'det_train.json')))
    bad = [n for n, o in expected.items() if o != 'ok']
    for im, name in zip(gt['images'], bad):
        im['file_name'] = name
    for im in gt['images'][len(bad):]:
        shutil.copy(os.path.join(synthetic_dir, im['file_name']), folder)
        im['file_name'] = os.path.basename(im['file_name'])
    ann = tmp_path / 'train.json'
    ann.write_text(json.dumps(gt))
    proc = run_tool('tools/train.py', DEMO_CONFIG, '--work-dir', str(tmp_path / 'w'), '--cfg-options',
                    f'train_dataloader.dataset.data_root={folder}/', f'train_dataloader.dataset.ann_file={ann}',
                    'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False')
    assert proc.returncode == 2 and 'Traceback' not in proc.stderr
    message = proc.stderr.strip().splitlines()[-1]
    assert f'{len(bad)} unusable image(s)' in message and '--skip-bad-images' in message
    for name in bad:
        assert name in message
    register_all_modules()
    import spinekey  # noqa: F401
    cfg = dict(type='SpineCocoDataset', data_root=folder + '/', ann_file=str(ann), data_prefix=dict(img=''),
               pipeline=[], skip_bad_images=True)
    ds = DATASETS.build(cfg)
    assert len(ds) == len(gt['images']) - len(bad)
    with pytest.raises(SpineKeyError):
        DATASETS.build(dict(cfg, skip_bad_images=False))
