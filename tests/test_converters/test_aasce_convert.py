"""The AASCE converter on a tiny dataset the test writes (.mat, csv, jpg with spaces in names)."""
import csv
import json
import os

import cv2
import numpy as np
import pytest

from spinekey.converters.aasce import patient_id, read_aasce, to_coco
from spinekey.converters.vertebra_checks import vertebra_problems
from tests.conftest import run_tool
from tests.test_measurement.test_aasce_cobb import spine

scipy_io = pytest.importorskip('scipy.io')


def _aasce_points(corners):
    """SpineKey [17, 4, 2] (TL, TR, BR, BL) -> AASCE [68, 2] (TL, TR, BL, BR)."""
    return corners[:, [0, 1, 3, 2]].reshape(-1, 2)


def write_sample(root, broken=()):
    """Three films: two of patient 'p-1' (A, B) and one of 'p-2'; ``broken`` names get swapped corners."""
    lab = os.path.join(root, 'boostnet_labeldata', 'labels', 'training')
    img = os.path.join(root, 'boostnet_labeldata', 'data', 'training')
    os.makedirs(lab)
    os.makedirs(img)
    names = ['p-1 A AP.jpg', 'p-1 B AP.jpg', 'p-2 A AP.jpg']
    rows, angles = [], []
    for k, name in enumerate(names):
        corners = spine(np.linspace(-5 * k, 10, 17))
        points = _aasce_points(corners)
        if name in broken:
            points[[8, 10]] = points[[10, 8]]  # T3: top-left and bottom-left swapped
        cv2.imwrite(os.path.join(img, name), np.zeros((1300, 400), np.uint8))
        scipy_io.savemat(os.path.join(lab, name + '.mat'), {'p2': points})
        rows.append(list(points[:, 0] / 400) + list(points[:, 1] / 1300))
        angles.append([10 + 5 * k, 1.0, 2.0])
    for fname, data in (('filenames.csv', [[n] for n in names]), ('angles.csv', angles), ('landmarks.csv', rows)):
        with open(os.path.join(lab, fname), 'w', newline='') as f:
            csv.writer(f).writerows(data)
    return names


def test_converter_reorders_corners_and_keeps_angles(tmp_path):
    write_sample(str(tmp_path))
    coco = to_coco(read_aasce(str(tmp_path)))
    assert len(coco['images']) == 3 and len(coco['annotations']) == 51
    assert coco['categories'][0]['keypoints'] == ['top_left', 'top_right', 'bottom_right', 'bottom_left']
    first = coco['annotations'][0]
    assert first['label'] == 'T1' and coco['annotations'][16]['label'] == 'L5'
    kp = np.array(first['keypoints']).reshape(4, 3)
    expected = spine(np.linspace(0, 10, 17))[0]
    assert np.allclose(kp[:, :2], expected, atol=0.01)
    x, y, w, h = first['bbox']
    assert (x, y, x + w, y + h) == pytest.approx((*expected.min(0), *expected.max(0)), abs=0.01)
    image = coco['images'][0]
    assert image['file_name'] == 'boostnet_labeldata/data/training/p-1 A AP.jpg'
    assert image['cobb_angles'] == [1.0, 10.0, 2.0]  # angles.csv (main, pt, tl) stored as [pt, mt, tl]
    assert image['patient_id'] == 'p-1' and (image['width'], image['height']) == (400, 1300)


def test_csv_labels_match_mat_labels(tmp_path):
    write_sample(str(tmp_path))
    mat = read_aasce(str(tmp_path), labels='mat')
    from_csv = read_aasce(str(tmp_path), labels='csv')
    for a, b in zip(mat, from_csv):
        assert np.allclose(a.points, b.points, atol=1e-6)


def test_faulty_vertebra_is_reported_and_its_film_excluded(tmp_path):
    write_sample(str(tmp_path), broken=('p-1 B AP.jpg', ))
    coco = to_coco(read_aasce(str(tmp_path)))
    assert [im['file_name'].split('/')[-1] for im in coco['images']] == ['p-1 A AP.jpg', 'p-2 A AP.jpg']
    faults = [e for e in coco['info']['excluded'] if e['level']]
    assert faults[0]['file_name'] == 'p-1 B AP.jpg' and faults[0]['level'] == 'T3'
    assert any('top/bottom swapped' in r for r in faults[0]['reasons'])
    kept = to_coco(read_aasce(str(tmp_path)), keep_faulty=True)
    assert len(kept['images']) == 3 and len(kept['annotations']) == 50


def test_missing_image_corrupt_mat_and_row_count_are_reported(tmp_path):
    names = write_sample(str(tmp_path))
    base = os.path.join(str(tmp_path), 'boostnet_labeldata')
    os.remove(os.path.join(base, 'data', 'training', names[0]))
    with open(os.path.join(base, 'labels', 'training', names[1] + '.mat'), 'wb') as f:
        f.write(b'not a mat file')
    with open(os.path.join(base, 'labels', 'training', 'angles.csv'), 'a') as f:
        f.write('1,2,3\n')
    records = read_aasce(str(tmp_path))
    problems = {r.name: r.problems for r in records}
    assert problems[names[0]] == ['image file missing']
    assert 'cannot read' in problems[names[1]][0]
    assert 'angles.csv has 4 rows but filenames.csv has 3' in problems['*'][0]
    assert problems[names[2]] == []


def test_checks_flag_swapped_left_right_and_out_of_order():
    corners = spine(np.zeros(5))
    corners[2] = corners[2][[1, 0, 3, 2]]
    corners[[3, 4]] = corners[[4, 3]]
    problems = vertebra_problems(corners)
    assert any('left/right swapped' in p for p in problems[2])
    assert any('out of order' in p for p in problems[4])
    assert 0 not in problems and 1 not in problems


def test_patient_id_groups_films():
    assert patient_id('sunhl-1th-02-Jan-2017-162 A AP.jpg') == 'sunhl-1th-02-Jan-2017-162'
    assert patient_id('sunhl-1th-20-Jul-2016-coronal6.jpg') == 'sunhl-1th-20-Jul-2016-coronal6'


def test_convert_and_split_tools(tmp_path):
    write_sample(str(tmp_path), broken=('p-2 A AP.jpg', ))
    out = str(tmp_path / 'aasce.json')
    proc = run_tool('tools/convert_dataset.py', '--from', 'aasce', '--src', str(tmp_path), '--out', out)
    assert proc.returncode == 0, proc.stderr
    assert 'excluded: p-2 A AP.jpg [T3]' in proc.stderr
    assert len(json.load(open(out))['images']) == 2
    strict = run_tool('tools/convert_dataset.py', '--from', 'aasce', '--src', str(tmp_path), '--out',
                      str(tmp_path / 'x.json'), '--strict')
    assert strict.returncode == 2 and strict.stderr.startswith('error: p-2 A AP.jpg [T3]')
    assert not os.path.exists(tmp_path / 'x.json')
    missing = run_tool('tools/convert_dataset.py', '--from', 'aasce', '--src', str(tmp_path / 'nope'), '--out', out)
    assert missing.returncode == 2 and 'filenames.csv: not found' in missing.stderr
