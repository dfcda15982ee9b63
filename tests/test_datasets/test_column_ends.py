"""The column-ends locator: the whole film in one canvas (a film point lands where the frame maps it, shrunk
by more than 2x too), its targets (the end vertebrae's centres, an absent end not visible), one clear line for a
COCO file without levels, and the config -> tools/train.py -> ColumnEndsLocator path on synthetic films."""
import json
import os

import cv2
import numpy as np
import pytest

from spinekey.datasets.column_ends_dataset import ColumnEndsDataset, cut_canvas, film_frame
from tests.conftest import FEW_ITERS, ROOT, run_tool

CONFIG = os.path.join(ROOT, 'configs', 'column_ends', 'column-ends_lite0_s384_20e_aasce_cpu.py')


def test_the_film_frame_by_hand():
    """A 2000 x 600 film into 100 px: 95 px for 2000, so 0.0475 canvas pixels per film pixel, centred."""
    frame = film_frame(2000, 600, 100)
    assert frame.scale == pytest.approx(0.0475)
    np.testing.assert_allclose(frame.to_patch(np.array([[299.5, 999.5]])), [[49.5, 49.5]], atol=1e-9)
    np.testing.assert_allclose(frame.to_patch(np.array([[299.5, 0.0]])), [[49.5, 49.5 - 999.5 * 0.0475]], atol=1e-9)
    turned = film_frame(2000, 600, 100, angle_deg=90.0)  # a quarter turn: the film's long axis lies along x
    np.testing.assert_allclose(turned.to_film(turned.to_patch(np.array([[10.0, 20.0]]))), [[10.0, 20.0]], atol=1e-9)


@pytest.mark.parametrize('size', [400, 90])  # shrunk 1.4x (direct) and 6x (area-averaged first)
def test_a_film_point_lands_where_the_frame_maps_it(size):
    film = np.zeros((600, 500), np.uint8)
    film[396:405, 296:305] = 255  # a 9 x 9 bright square centred on (300, 400)
    frame = film_frame(*film.shape, size, scale=0.9, angle_deg=7.0, shift=(3.0, -2.0))
    canvas = cut_canvas(film, frame).astype(float)
    ys, xs = np.nonzero(canvas)
    w = canvas[ys, xs]
    found = [(xs * w).sum() / w.sum(), (ys * w).sum() / w.sum()]
    assert found == pytest.approx(frame.to_patch(np.array([300.0, 400.0])), abs=0.3)
    assert canvas[0, 0] == 0  # outside the film: black, not the film's edge repeated


def _coco(tmp_path, with_l5=True, labels=True):
    film = np.full((400, 200), 60, np.uint8)
    cv2.imwrite(str(tmp_path / 'a.png'), film)
    anns = []
    for i, (level, y) in enumerate([('T1', 40), ('T2', 80), ('L5', 300)]):
        if level == 'L5' and not with_l5:
            continue
        kps = [60, y, 1, 140, y, 1, 140, y + 30, 1, 60, y + 30, 1]
        anns.append({'id': i + 1, 'image_id': 1, 'category_id': 1, 'bbox': [60, y, 80, 30], 'keypoints': kps,
                     'num_keypoints': 4, **({'label': level} if labels else {})})
    coco = {'images': [{'id': 1, 'file_name': 'a.png', 'width': 200, 'height': 400}], 'annotations': anns,
            'categories': [{'id': 1, 'name': 'vertebra',
                            'keypoints': ['top_left', 'top_right', 'bottom_right', 'bottom_left']}]}
    (tmp_path / 'ann.json').write_text(json.dumps(coco))
    return str(tmp_path / 'ann.json')


def test_targets_are_the_end_vertebrae_centres_in_the_canvas(tmp_path):
    ds = ColumnEndsDataset(_coco(tmp_path), img_prefix=str(tmp_path), size=100, test_mode=True)
    item = ds[0]
    assert item['inputs'].shape == (1, 1, 100, 100) and ds.metainfo['keypoint_names'] == ['T1_centre', 'L5_centre']
    frame = film_frame(400, 200, 100)
    np.testing.assert_allclose(item['data_samples']['keypoints'][0].numpy(),
                               frame.to_patch(np.array([[100.0, 55.0], [100.0, 315.0]])), atol=1e-4)
    assert item['data_samples']['visible'].tolist() == [[True, True]]
    short = ColumnEndsDataset(_coco(tmp_path, with_l5=False), img_prefix=str(tmp_path), size=100, test_mode=True)
    assert short[0]['data_samples']['visible'].tolist() == [[True, False]]  # no L5 annotated: not learned from


def test_a_coco_file_without_levels_is_one_clear_line(tmp_path):
    from spinekey.utils.errors import SpineKeyError
    with pytest.raises(SpineKeyError, match='no vertebra labelled T1 or L5'):
        ColumnEndsDataset(_coco(tmp_path, labels=False), img_prefix=str(tmp_path))


def test_the_config_trains_and_the_locator_finds_ends_on_the_film(synthetic_dir, tmp_path):
    """Synthetic columns end at L5 and start anywhere: locate L4 and L5. A few steps give no accuracy; what is
    checked is the path: K from the levels, names in the checkpoint, points back on the film."""
    run_tool('tools/train.py', CONFIG, '--work-dir', str(tmp_path / 'w'), '--cfg-options',
             f'train_dataloader.dataset.data_root={synthetic_dir}/', 'train_dataloader.dataset.ann_file=det_train.json',
             'train_dataloader.dataset.img_prefix=',
             "train_dataloader.dataset.levels=['L4','L5']",
             'train_dataloader.dataset.size=64', 'model.patch_size=64', 'model.heatmap_size=16',
             'model.backbone.pretrained=False', *FEW_ITERS, check=True)
    mismatch = run_tool('tools/train.py', CONFIG, '--work-dir', str(tmp_path / 'x'), '--cfg-options',
                        f'train_dataloader.dataset.data_root={synthetic_dir}/',
                        'train_dataloader.dataset.ann_file=det_train.json', 'train_dataloader.dataset.size=64')
    assert mismatch.returncode == 2 and mismatch.stderr.strip().splitlines()[-1] == (
        'error: the column-ends canvas is 64 px (train_dataloader.dataset.size) but the model reads 384 px '
        '(model.patch_size): set both')
    from spinekey.apis.column_ends import ColumnEndsLocator
    from spinekey.io.images import read_gray
    ckpt = (tmp_path / 'w' / 'last_checkpoint').read_text().strip()
    locator = ColumnEndsLocator(CONFIG, ckpt)
    film = read_gray(os.path.join(synthetic_dir, 'images', 'synth_000000.png'))
    found = locator.locate(film)
    assert locator.levels == ['L4', 'L5'] and list(found) == ['L4', 'L5']
    for x, y, sd in found.values():
        assert 0 <= x < film.shape[1] and 0 <= y < film.shape[0] and sd > 0


def test_the_locator_maps_the_canvas_back_to_the_film_and_refuses_other_checkpoints(refiner_files, tmp_path):
    import torch

    from spinekey.apis.column_ends import ColumnEndsLocator
    from spinekey.utils.errors import SpineKeyError
    with pytest.raises(SpineKeyError, match='not a column-ends locator checkpoint'):
        ColumnEndsLocator(CONFIG, refiner_files[1])  # a refiner's corners are not end levels
    ckpt = torch.load(refiner_files[1], weights_only=True)
    ckpt['meta']['dataset_meta']['keypoint_names'] = ['T1_centre', 'T12_centre', 'L1_centre', 'L5_centre']
    torch.save(ckpt, tmp_path / 'ends.pth')
    locator = ColumnEndsLocator(refiner_files[0], str(tmp_path / 'ends.pth'))
    # whatever the network says, a point at the canvas centre is the film's centre, its sd scaled back
    centre = (locator.size - 1) / 2.0
    locator.model.predict_patches = lambda canvas: {'keypoints': torch.full((1, 4, 2), centre),
                                                    'sd': torch.full((1, 4, 2), 2.0)}
    found = locator.locate(np.zeros((1000, 300), np.uint8))
    frame = film_frame(1000, 300, locator.size)
    assert list(found) == ['T1', 'T12', 'L1', 'L5']
    assert found['T1'] == pytest.approx((149.5, 499.5, 2.0 / frame.scale))


def test_check_column_ends_by_hand(tmp_path):
    """T1's centre at (100, 55) with T2 40 px below, L5's at (100, 315) with L4 40 px above; the locator points
    15 px below T1 (0.375 of a level: found) and 30 px above L5 (0.75: the level above)."""
    from spinekey.apis.column_ends import check_column_ends
    coco = json.loads(open(_coco(tmp_path)).read())
    kps = [60, 260, 1, 140, 260, 1, 140, 290, 1, 60, 290, 1]
    coco['annotations'].append({'id': 9, 'image_id': 1, 'category_id': 1, 'bbox': [60, 260, 80, 30],
                                'keypoints': kps, 'num_keypoints': 4, 'label': 'L4'})
    (tmp_path / 'ann.json').write_text(json.dumps(coco))

    class Pointing:
        levels = ['T1', 'L5']

        def locate(self, film):
            return {'T1': (100.0, 70.0, 4.0), 'L5': (100.0, 285.0, 8.0)}

    by_level = {a['label']: a for a in coco['annotations']}
    results = [dict(by_level[lv], image_id=1, score=s) for lv, s in (('T1', 0.9), ('T2', 0.9), ('L4', 0.9),
                                                                      ('L5', 0.04))]  # L5 too faint to count
    out = check_column_ends(Pointing(), str(tmp_path / 'ann.json'), str(tmp_path), results, score_thr=0.05)
    film = out['films'][0]
    assert film['T1'] == {'error_px': 15.0, 'error_levels': 0.375, 'sd_levels': 0.1, 'nearest_is_true': True}
    assert film['L5'] == {'error_px': 30.0, 'error_levels': 0.75, 'sd_levels': 0.2, 'nearest_is_true': False}
    s = out['summary']
    assert (s['T1']['within_half_a_level'], s['L5']['within_half_a_level']) == (1.0, 0.0)
    assert s['both_nearest_detections_true'] == 0.0
    from spinekey.utils.errors import SpineKeyError
    with pytest.raises(SpineKeyError, match='no film has vertebrae labelled T1 and L5'):
        check_column_ends(Pointing(), _coco(tmp_path, labels=False), str(tmp_path))
