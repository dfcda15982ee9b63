"""SpineKeyInferencer: a path, an array, a DICOM and a batch with a bad file, through detection, keypoints and
measurements."""
import os

import cv2
import numpy as np
import pytest

from spinekey.apis import MeasureOptions, SpineKeyInferencer
from tests.conftest import DEMO_CONFIG

OPTIONS = MeasureOptions(anterior='left', bottom_level='L5')


@pytest.fixture(scope='module')
def sk(trained):
    return SpineKeyInferencer(DEMO_CONFIG, trained['ckpt'], score_thr=0.0, measure=OPTIONS,
                              cfg_options={'model.test_cfg.rcnn.score_thr': 0.0, 'model.test_cfg.rcnn.max_per_img': 10})


@pytest.fixture(scope='module')
def film_path(trained):
    return os.path.join(trained['data'], 'images', 'synth_000000.png')


def test_a_path_gives_detections_keypoints_levels_and_measurements(sk, film_path):
    film = sk(film_path)
    assert film.ok and film.file_name == 'synth_000000.png' and (film.height, film.width) == (512, 384)
    assert len(film.detections) > 0 and film.keypoints.shape == (len(film.detections), 4, 2)
    assert film.keypoint_names == ['top_left', 'top_right', 'bottom_right', 'bottom_left']
    assert len(film.vertebrae) == len(film.detections)  # every detection is a vertebra row, in spine order
    levels = [row['level'] for row in film.vertebrae]
    assert levels[-1] == 'L5' and len(set(levels)) == len(levels)
    assert film.image['n_vertebrae'] == len(film.detections) and film.image['anterior'] == 'left'


def test_an_array_gives_the_same_answer_as_its_file(sk, film_path):
    by_path = sk(film_path)
    by_array = sk(cv2.imread(film_path, cv2.IMREAD_GRAYSCALE))
    assert by_array.path is None and by_array.file_name == 'array_0.png'
    np.testing.assert_allclose(by_array.keypoints, by_path.keypoints, atol=1e-3)
    assert [r['height_anterior_px'] for r in by_array.vertebrae] == [r['height_anterior_px'] for r in by_path.vertebrae]


def test_a_dicom_film_brings_its_pixel_spacing_into_the_measurements(sk, film_path, tmp_path):
    pydicom = pytest.importorskip('pydicom')  # noqa: F841
    from tests.test_io.test_dicom import write_dicom
    pixels = cv2.imread(film_path, cv2.IMREAD_GRAYSCALE)
    path = write_dicom(tmp_path / 'scan.dcm', pixels, spacing=(0.25, 0.25))
    film = sk(str(path))
    assert film.ok and film.file_name == 'scan.dcm' and len(film.detections) > 0
    rows = [r for r in film.vertebrae if r['height_anterior_px'] is not None]
    assert rows and all(r['height_anterior_mm'] == pytest.approx(r['height_anterior_px'] * 0.25, abs=0.01)
                        for r in rows)


def test_a_batch_keeps_order_and_names_the_bad_film(sk, film_path, tmp_path):
    broken = tmp_path / 'broken.png'
    broken.write_bytes(b'\x89PNG\r\n\x1a\n truncated')
    films = sk([film_path, str(broken), film_path])
    assert [f.ok for f in films] == [True, False, True] and [f.image_id for f in films] == [0, 1, 2]
    assert films[1].error == f'{broken}: not a readable image (corrupt, truncated or unsupported format)'
    assert films[1].detections == [] and films[1].vertebrae == []
    np.testing.assert_allclose(films[0].keypoints, films[2].keypoints)


def test_measuring_can_be_switched_off(trained, film_path):
    film = SpineKeyInferencer(DEMO_CONFIG, trained['ckpt'], measure=False)(film_path)
    assert film.ok and film.vertebrae == [] and film.image == {}
