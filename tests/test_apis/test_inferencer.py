"""SpineKeyInferencer: a path, an array, a DICOM and a batch with a bad file, through detection, keypoints and
measurements."""
from dataclasses import replace
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


def test_a_dicom_export_folder_brings_its_pixel_spacing_into_the_measurements(sk, film_path, tmp_path):
    """A PACS export as it comes: patient folders, files without .dcm, a DICOMDIR index."""
    pydicom = pytest.importorskip('pydicom')  # noqa: F841
    from tests.test_io.test_dicom import write_dicom
    pixels = cv2.imread(film_path, cv2.IMREAD_GRAYSCALE)
    (tmp_path / 'export' / 'PAT1').mkdir(parents=True)
    write_dicom(tmp_path / 'export' / 'PAT1' / 'IM0001', pixels, spacing=(0.25, 0.25))
    (tmp_path / 'export' / 'DICOMDIR').write_bytes(b'\0' * 128 + b'DICM' + b'\0' * 64)
    assert sk(str(tmp_path / 'export')) == []  # the folder itself holds no film
    films = sk(str(tmp_path / 'export'), recursive=True)
    assert len(films) == 1
    film = films[0]
    assert film.ok and film.file_name == 'PAT1/IM0001' and len(film.detections) > 0
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


def test_an_ap_models_config_measures_its_films_as_ap(trained, sk, film_path):
    """``view = 'ap'`` in the model config (the AASCE configs): no fracture or slip grades, no lordosis; a view
    the measure options name wins; a bad view is one line naming the config."""
    from spinekey.utils.errors import SpineKeyError
    opts = {'model.test_cfg.rcnn.score_thr': 0.0, 'model.test_cfg.rcnn.max_per_img': 10}
    ap = SpineKeyInferencer(DEMO_CONFIG, trained['ckpt'], score_thr=0.0, measure=OPTIONS,
                            cfg_options=dict(opts, view='ap'))
    assert sk.measure.view is None and ap.measure.view == 'ap'
    film, lateral = ap(film_path), sk(film_path)
    assert film.vertebrae and all('genant_grade' not in r and 'meyerding_grade' not in r for r in film.vertebrae)
    assert any('genant_grade' in r for r in lateral.vertebrae) and 'AP view' in film.image['note']
    told = SpineKeyInferencer(DEMO_CONFIG, trained['ckpt'], measure=MeasureOptions(view='lateral'),
                              cfg_options={'view': 'ap'})
    assert told.measure.view == 'lateral'
    with pytest.raises(SpineKeyError, match="spinekey_demo_cpu.py: unknown film view 'sideways'"):
        SpineKeyInferencer(DEMO_CONFIG, trained['ckpt'], cfg_options={'view': 'sideways'})


def test_an_aasce_models_config_measures_the_aasce_angles(trained, film_path):
    """``aasce_angles = True`` in the model config (the AASCE configs): the film's row carries the AASCE angles
    unless the measure options say ``aasce=False``."""
    opts = {'model.test_cfg.rcnn.score_thr': 0.0, 'model.test_cfg.rcnn.max_per_img': 10, 'aasce_angles': True}
    on = SpineKeyInferencer(DEMO_CONFIG, trained['ckpt'], score_thr=0.0, measure=OPTIONS, cfg_options=opts)
    off = SpineKeyInferencer(DEMO_CONFIG, trained['ckpt'], score_thr=0.0, measure=replace(OPTIONS, aasce=False),
                             cfg_options=opts)
    assert on.measure.aasce is True and off.measure.aasce is False
    film, plain = on(film_path), off(film_path)
    assert len(film.vertebrae) >= 2 and film.image.get('cobb_mt_deg') is not None
    assert plain.image.get('cobb_mt_deg') is None


def test_half_precision_runs_the_backbone_only_and_restores_the_model(sk, film_path):
    import torch

    from spinekey.apis import iter_predictions
    from spinekey.apis.precision import half_precision_features
    model = sk.model
    x = torch.rand(1, 3, 256, 192)
    plain = model.extract_feat(x)
    with half_precision_features(model):  # bfloat16 on this CPU: the same switch as fp16 on a GPU
        half = model.extract_feat(x)
        assert all(f.dtype == torch.float32 for f in half)  # the heads get float32 features
        assert not all(torch.equal(a, b) for a, b in zip(plain, half))  # ... computed in half precision
        assert all(torch.allclose(a, b, rtol=0.1, atol=0.1 * float(a.abs().max())) for a, b in zip(plain, half))
    assert 'extract_feat' not in vars(model) and torch.equal(model.extract_feat(x)[0], plain[0])
    (_, sample), = iter_predictions(model, [film_path], fp16=True)
    pred = sample.pred_instances
    assert pred.bboxes.dtype == pred.keypoints.dtype == torch.float32 and len(pred) > 0
    assert 'extract_feat' not in vars(model)


def test_fp16_on_cpu_is_one_line_not_a_slower_run(trained):
    from spinekey.utils.errors import SpineKeyError
    with pytest.raises(SpineKeyError, match=r'--fp16 needs a GPU \(--device cuda:N\); on cpu'):
        SpineKeyInferencer(DEMO_CONFIG, trained['ckpt'], device='cpu', fp16=True)
