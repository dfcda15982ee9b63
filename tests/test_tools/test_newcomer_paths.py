"""What a newcomer tripped on (outputs over inputs, duplicate films, a bad label file, tracebacks, NaN in JSON,
lordosis and Cobb angles that are not ones, films the model cannot read well): each case as the user met it."""
import errno
import json
import os

import numpy as np
import pytest

from spinekey.io.atomic import atomic_write_json, clear_protected_inputs, protect_inputs
from spinekey.io.coco_files import drop_duplicate_films, load_coco_gt
from spinekey.utils.errors import SpineKeyError
from tests.conftest import run_tool


@pytest.fixture(autouse=True)
def _no_protection_left_over():
    yield
    clear_protected_inputs()


def test_an_output_that_is_the_input_or_a_link_to_it_is_refused(tmp_path):
    src = tmp_path / 'results.json'
    src.write_text('[1]')
    os.symlink(src, tmp_path / 'soft.json')
    os.link(src, tmp_path / 'hard.json')
    protect_inputs({'--result_file': str(src), '--gt_file': None})
    for out in ('results.json', 'soft.json', 'hard.json', './results.json'):
        with pytest.raises(SpineKeyError, match='is the input given as --result_file'):
            atomic_write_json(str(tmp_path / out), {'x': 1})
    assert src.read_text() == '[1]'
    atomic_write_json(str(tmp_path / 'other.json'), {'x': 1})  # any other name is fine
    with pytest.raises(SpineKeyError, match='is a folder'):
        atomic_write_json(str(tmp_path), {'x': 1})


def test_tools_refuse_to_overwrite_their_input(tmp_path):
    res = tmp_path / 'r.json'
    res.write_text('[]')
    gt = tmp_path / 'gt.json'
    gt.write_text(json.dumps({'images': [{'id': 1, 'file_name': 'a.png', 'width': 10, 'height': 10}],
                              'annotations': [], 'categories': [{'id': 1, 'name': 'v'}]}))
    proc = run_tool('tools/evaluate_keypoints.py', '--gt_file', str(gt), '--result_file', str(res),
                    '--output', str(res))
    assert proc.returncode == 2 and 'is the input given as --result_file' in proc.stderr
    assert 'Traceback' not in proc.stderr and res.read_text() == '[]'


def test_strict_json_has_null_where_a_number_is_not_finite(tmp_path):
    atomic_write_json(str(tmp_path / 'm.json'), {'EPE': float('nan'), 'rows': [1.5, float('inf')], 'n': 2})
    text = (tmp_path / 'm.json').read_text()
    assert 'NaN' not in text and 'Infinity' not in text
    assert json.loads(text) == {'EPE': None, 'rows': [1.5, None], 'n': 2}


def _coco(images, anns):
    return {'images': images, 'annotations': anns, 'categories': [{'id': 1, 'name': 'v'}]}


def test_a_film_listed_twice_is_kept_once_with_a_warning_or_refused(tmp_path, capsys):
    images = [{'id': i, 'file_name': n, 'width': 9, 'height': 9} for i, n in ((1, 'a.png'), (2, 'b.png'),
                                                                                 (3, 'a.png'))]
    anns = [{'id': k, 'image_id': i, 'category_id': 1, 'bbox': [0, 0, 2, 2]} for k, i in enumerate((1, 2, 3, 3))]
    once = drop_duplicate_films(_coco(images, anns), 'x.json')
    assert [im['id'] for im in once['images']] == [1, 2]
    assert [a['image_id'] for a in once['annotations']] == [1, 2]
    assert "film 'a.png' appears under image ids [1, 3]" in capsys.readouterr().err
    path = tmp_path / 'dup.json'
    path.write_text(json.dumps(_coco(images, anns)))
    with pytest.raises(SpineKeyError, match='--strict'):
        load_coco_gt(str(path), strict=True)


def test_make_split_never_puts_one_film_on_both_sides(tmp_path):
    images = [{'id': i, 'file_name': f'{i % 10}.png', 'width': 9, 'height': 9} for i in range(20)]  # each twice
    anns = [{'id': i, 'image_id': i, 'category_id': 1, 'bbox': [0, 0, 1, 1]} for i in range(20)]
    src = tmp_path / 'all.json'
    src.write_text(json.dumps(_coco(images, anns)))
    proc = run_tool('tools/make_split.py', '--ann', str(src), '--out-dir', str(tmp_path / 'split'), '--folds', '2')
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count('appears under image ids') == 10
    for k in range(2):
        train = json.load(open(tmp_path / 'split' / f'fold{k}_train.json'))
        val = json.load(open(tmp_path / 'split' / f'fold{k}_val.json'))
        assert not {im['file_name'] for im in train['images']} & {im['file_name'] for im in val['images']}
        assert len(train['images']) + len(val['images']) == 10


def test_yolo_pose_folder_with_one_bad_label_file_converts_the_rest(tmp_path):
    import cv2
    images, labels = tmp_path / 'images', tmp_path / 'labels'
    os.makedirs(images)
    os.makedirs(labels)
    for stem in ('a', 'b'):
        cv2.imwrite(str(images / f'{stem}.png'), np.zeros((100, 100), np.uint8))
    (labels / 'a.txt').write_text('0 0.5\n')  # sorted first: it once set K = -1 for the whole folder
    kps = ' '.join(f'{x} {y} 2' for x, y in ((0.4, 0.4), (0.6, 0.4), (0.6, 0.6), (0.4, 0.6)))
    (labels / 'b.txt').write_text(f'0 0.5 0.5 0.2 0.2 {kps}\n')
    (labels / 'c.txt').write_bytes(b'\xff\xfe\x00binary')
    out = tmp_path / 'o.json'
    proc = run_tool('tools/convert_dataset.py', '--from', 'yolo-pose', '--src', str(labels), '--images-dir',
                    str(images), '--out', str(out))
    assert proc.returncode == 0, proc.stderr
    coco = json.load(open(out))
    assert [im['file_name'] for im in coco['images']] == ['a.png', 'b.png'] and len(coco['annotations']) == 1
    assert 'a.txt line 1: 2 values, expected 17' in proc.stderr and 'c.txt: not a text label file' in proc.stderr


def test_filesystem_refusals_are_one_line_with_exit_2(capsys):
    from spinekey.utils.cli import run_cli

    def read_only():
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), '/mnt/ro/out')
    assert run_cli(read_only)() == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and '/mnt/ro/out: cannot write or create (Read-only file system)' in err

    def a_bug():
        raise OSError(errno.EBADF, 'bad file descriptor')
    with pytest.raises(OSError):  # not the user's to fix: the traceback stays
        run_cli(a_bug)()


def test_a_tall_film_with_nothing_found_says_it_was_shrunk_past_what_the_model_reads():
    from mmengine.config import Config

    from spinekey.apis.measuring import MeasureOptions, measure_film, model_input_scale
    from spinekey.structures.vertebra import ImageInput
    from tests.conftest import DEMO_CONFIG
    scale = model_input_scale(Config.fromfile(DEMO_CONFIG))
    assert scale is not None and max(scale) <= 1024
    tall = measure_film(ImageInput(0, 'tall.png', width=512, height=4000),
                        MeasureOptions(anterior='left', input_scale=scale))
    assert tall.image['qc_status'] == 'review'
    assert 'no_vertebrae' in tall.image['qc_reasons'] and 'film_shrunk' in tall.image['qc_reasons']
    small = measure_film(ImageInput(0, 'small.png', width=300, height=500),
                         MeasureOptions(anterior='left', input_scale=scale))
    assert 'film_shrunk' not in small.image['qc_reasons'] and 'film_landscape' not in small.image['qc_reasons']


def test_a_film_stored_turned_with_nothing_found_is_asked_about(tmp_path):
    """A film stored landscape (turned 90 deg), nothing found: QC asks whether it is turned; its size read from
    the file when the input (a results.json) has none."""
    import cv2

    from spinekey.apis.measuring import MeasureOptions, measure_film
    from spinekey.structures.vertebra import ImageInput
    path = tmp_path / 'turned film.png'
    cv2.imwrite(str(path), np.zeros((400, 900), np.uint8))
    turned = measure_film(ImageInput(0, path.name), MeasureOptions(anterior='left'), str(path))
    assert turned.image['qc_status'] == 'review'
    assert 'film_landscape: the film (900x400 px) is wider than tall' in turned.image['qc_reasons']


def test_results_and_gt_that_number_one_film_differently_point_at_convert_gt():
    from spinekey.io.image_sets import common_images
    gt = _coco([{'id': i + 1, 'file_name': f'{i}.png'} for i in range(6)], [])
    results = [{'image_id': i, 'file_name': f'{i}.png', 'bbox': [0, 0, 1, 1], 'score': 1.0} for i in range(6)]
    with pytest.raises(SpineKeyError, match="film '0.png' is image_id 0 there but 1 in gt.json.*tools/convert_gt.py"):
        common_images(gt, results, 'gt.json', 'results.json')
    renumbered = [dict(r, image_id=r['image_id'] + 1) for r in results]
    assert common_images(gt, renumbered, 'gt.json', 'results.json')[1] == renumbered


def test_a_checkpoint_that_does_not_fit_says_which_part():
    from spinekey.io.checkpoint import mismatch_cause
    assert 'another backbone' in mismatch_cause(['backbone.stem.conv.weight', 'roi_head.bbox_head.0.fc.weight'])
    assert 'number of keypoints K' in mismatch_cause(['roi_head.keypoint_head.deconv.weight'])
    assert 'number of classes' in mismatch_cause(['roi_head.bbox_head.0.fc_cls.weight'])


def test_launcher_flags_in_either_spelling_and_an_unwritable_output_folder(tmp_path):
    import subprocess
    import sys

    from tests.conftest import DEMO_CONFIG, ROOT
    (tmp_path / 'films').mkdir()
    (tmp_path / 'model.pth').write_bytes(b'x')
    (tmp_path / 'a_file').write_text('x')
    env = dict(os.environ, PYTHON=sys.executable)
    proc = subprocess.run(['bash', 'inference.sh', '--images-dir', str(tmp_path / 'films'), '--cfg-det-path',
                           DEMO_CONFIG, '--ckpt', str(tmp_path / 'model.pth'), '--device', 'cpu',
                           '--output-dir', str(tmp_path / 'a_file' / 'out')], cwd=ROOT, capture_output=True,
                          text=True, env=env)
    assert proc.returncode == 2 and proc.stderr.count('\n') == 1, proc.stderr
    assert 'cannot write to --output_dir' in proc.stderr and 'a_file/out' in proc.stderr
    missing = subprocess.run(['bash', 'inference.sh', '--images_dir', str(tmp_path / 'films'), '--cfg_det_path',
                              DEMO_CONFIG], cwd=ROOT, capture_output=True, text=True, env=env)
    assert missing.returncode == 2 and 'SpineKey ships no trained weights' in missing.stderr
    assert 'checkpoints/README.md' in missing.stderr


def test_what_mmdetection_writes_is_named_when_given_for_a_results_json(tmp_path):
    """mmdet's test.py --out x.pkl and DetInferencer's preds/<film>.json are what an MMDetection user has at hand."""
    import pickle
    pkl = tmp_path / 'results.pkl'
    with open(pkl, 'wb') as f:
        pickle.dump([{'img_path': 'a.png', 'pred_instances': {}}], f)
    preds = tmp_path / 'film.json'
    preds.write_text(json.dumps({'labels': [0], 'scores': [0.9], 'bboxes': [[1, 2, 30, 40]]}))
    other = tmp_path / 'other.json'
    other.write_text('{"a": 1}')
    expected = {pkl: 'a pickle (what MMDetection\'s test.py --out *.pkl writes)',
                preds: 'one film\'s MMDetection DetInferencer output (labels, scores, bboxes): it has no keypoints',
                other: 'neither a results list nor a COCO file'}
    for path, message in expected.items():
        proc = run_tool('tools/measure.py', '--input', str(path), '--out', str(tmp_path / 'm'))
        assert proc.returncode == 2 and f'{path}: {message}' in proc.stderr, proc.stderr
        assert 'Traceback' not in proc.stderr
    assert not (tmp_path / 'm').exists()
