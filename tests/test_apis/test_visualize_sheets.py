"""tools/visualize.py's sheets: a COCO file's films each beside its drawn annotations (one file per film, or one
panel), and the image writer's formats."""
import json
import os

import cv2
import numpy as np

from spinekey.apis.visualize import side_by_side, write_image
from tests.conftest import run_tool


def test_annotations_beside_each_film(synthetic_dir, tmp_path):
    ann = os.path.join(synthetic_dir, 'det_train.json')
    films = sorted(json.load(open(ann))['images'], key=lambda im: im['id'])[:2]
    out = tmp_path / 'sheets'
    proc = run_tool('tools/visualize.py', '--ann-file', ann, '--img-prefix', synthetic_dir, '--num', '2',
                    '--out', str(out))
    assert proc.returncode == 0, proc.stderr
    for im in films:
        drawn = cv2.imread(str(out / os.path.basename(im['file_name'])))
        film = cv2.imread(os.path.join(synthetic_dir, im['file_name']))
        assert drawn.shape[:2] == (film.shape[0], 2 * film.shape[1])  # the film, then the film drawn on
        left, right = drawn[:, :film.shape[1]], drawn[:, film.shape[1]:]
        assert np.abs(left.astype(int) - film).mean() < 1 and np.abs(right.astype(int) - film).mean() > 1
    panel = tmp_path / 'one.jpg'
    assert run_tool('tools/visualize.py', '--ann-file', ann, '--img-prefix', synthetic_dir, '--num', '2',
                    '--out', str(panel)).returncode == 0
    assert cv2.imread(str(panel)).shape[1] == sum(2 * cv2.imread(os.path.join(synthetic_dir, im['file_name'])).shape[1]
                                                  + 4 for im in films)


def test_write_image_and_side_by_side(tmp_path):
    a, b = np.full((10, 6, 3), 255, np.uint8), np.zeros((4, 3, 3), np.uint8)
    row = side_by_side([a, b])
    assert row.shape == (10, 6 + 4 + 3 + 4, 3) and row[9, 7].tolist() == [0, 0, 0]
    assert side_by_side([a, b], axis=0).shape == (10 + 4 + 4 + 4, 6, 3)
    assert write_image(str(tmp_path / 'x.png'), a) == str(tmp_path / 'x.png')
    assert (cv2.imread(str(tmp_path / 'x.png')) == 255).all()  # PNG: lossless
    written = write_image(str(tmp_path / 'sub' / 'IM0001.dcm'), a)  # a DICOM name is given .png, not JPEG bytes
    assert written.endswith('IM0001.dcm.png') and cv2.imread(written).shape == (10, 6, 3)
