import json
import os

import cv2
import numpy as np
import pytest

from spinekey.datasets.synthetic import SyntheticSpec, make_image, write_dataset
from spinekey.measurement import genant_grade


def test_same_seed_same_dataset(tmp_path):
    spec = SyntheticSpec(min_vertebrae=5, max_vertebrae=8)
    write_dataset(str(tmp_path / 'a'), 5, spec, seed=7)
    write_dataset(str(tmp_path / 'b'), 5, spec, seed=7)
    for name in ('det_train.json', 'det_val.json', 'det_test.json', 'truth.json'):
        assert (tmp_path / 'a' / name).read_text() == (tmp_path / 'b' / name).read_text()
    img_a = cv2.imread(str(tmp_path / 'a/images/synth_000003.png'), cv2.IMREAD_UNCHANGED)
    img_b = cv2.imread(str(tmp_path / 'b/images/synth_000003.png'), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(img_a, img_b)


def test_other_seed_other_images():
    spec = SyntheticSpec()
    assert not np.array_equal(make_image(spec, 1, 0)[0], make_image(spec, 2, 0)[0])


@pytest.mark.parametrize('k, names', [(4, ['top_left', 'top_right', 'bottom_right', 'bottom_left']),
                                      (6, ['top_left', 'top_right', 'bottom_right', 'bottom_left',
                                           'top_middle', 'bottom_middle'])])
def test_keypoint_variants_and_splits(tmp_path, k, names):
    sizes = write_dataset(str(tmp_path), 20, SyntheticSpec(num_keypoints=k, min_vertebrae=5, max_vertebrae=9),
                          seed=1)
    assert sizes == {'train': 16, 'val': 2, 'test': 2}
    ids = []
    for split in ('train', 'val', 'test'):
        coco = json.loads((tmp_path / f'det_{split}.json').read_text())
        assert coco['categories'][0]['keypoints'] == names
        ids += [im['id'] for im in coco['images']]
        for ann in coco['annotations']:
            kps = np.array(ann['keypoints']).reshape(-1, 3)
            assert kps.shape == (k, 3) and (kps[:, 2] == 2).all()
            x, y, w, h = ann['bbox']
            # corners lie on the outline, so inside the tight box
            assert (kps[:, 0] >= x - 1e-2).all() and (kps[:, 0] <= x + w + 1e-2).all()
            assert (kps[:, 1] >= y - 1e-2).all() and (kps[:, 1] <= y + h + 1e-2).all()
    assert sorted(ids) == list(range(1, 21))  # every image in exactly one split


def test_truth_heights_match_keypoints(tmp_path):
    write_dataset(str(tmp_path), 6, SyntheticSpec(num_keypoints=6, p_fracture=0.5), seed=4)
    truth = json.loads((tmp_path / 'truth.json').read_text())
    anns = []
    for split in ('train', 'val', 'test'):
        anns += json.loads((tmp_path / f'det_{split}.json').read_text())['annotations']
    by_image = {}
    for a in anns:
        by_image.setdefault(a['image_id'], []).append(a)
    for file_name, t in truth['images'].items():
        assert os.path.isfile(tmp_path / file_name)
        for ann, row in zip(by_image[t['image_id']], t['vertebrae']):
            assert ann['label'] == row['level']
            k = dict(zip(truth['keypoint_names'], np.array(ann['keypoints']).reshape(-1, 3)[:, :2]))
            left = np.linalg.norm(k['top_left'] - k['bottom_left'])
            right = np.linalg.norm(k['top_right'] - k['bottom_right'])
            ant, post = (left, right) if t['anterior'] == 'left' else (right, left)
            # corner landmarks sit on the rounded outline, a little inside the sharp corners
            assert ant == pytest.approx(row['height_anterior_px'], rel=0.12)
            assert post == pytest.approx(row['height_posterior_px'], rel=0.12)
            mid = np.linalg.norm(k['top_middle'] - k['bottom_middle'])
            assert mid == pytest.approx(row['height_middle_px'], rel=0.05)


def test_genant_thresholds():
    assert [genant_grade(r) for r in (0.0, 0.19, 0.2, 0.25, 0.26, 0.4, 0.41)] == [0, 0, 1, 1, 2, 2, 3]


def test_looks_like_a_radiograph_not_boxes_on_black():
    img, vertebrae, _ = make_image(SyntheticSpec(), 0, 0)
    mask = np.zeros(img.shape, np.uint8)
    for v in vertebrae:
        cv2.fillPoly(mask, [v.outline.astype(np.int32)], 1)
    background = img[mask == 0].astype(float)
    bone = img[mask == 1].astype(float)
    assert background.mean() > 15 and background.std() > 5  # soft tissue, clutter and noise
    assert bone.mean() > background.mean() + 20  # bodies are denser than soft tissue
    assert bone.std() > 4  # trabecular texture and noise, not flat fills


def test_invalid_spec():
    with pytest.raises(ValueError, match='num_keypoints'):
        SyntheticSpec(num_keypoints=5).validate()


def _turn_to_posterior(k, anterior):
    """Degrees the body's caudal axis (mean of its two sides) turns towards the posterior side."""
    a = np.subtract(k['bottom_left'], k['top_left']) + np.subtract(k['bottom_right'], k['top_right'])
    deg = float(np.degrees(np.arctan2(a[0], a[1])))  # positive: towards image right
    return deg if anterior == 'left' else -deg


def test_column_ends_show_c7_or_the_sacrum_as_their_anatomy_differs():
    spec = SyntheticSpec(column_ends=True, min_vertebrae=6, max_vertebrae=19, height=640)
    chain = ['C7'] + [f'T{i}' for i in range(1, 13)] + [f'L{i}' for i in range(1, 6)] + ['S1']
    anchors, slopes = set(), []
    for index in range(40):
        img, vertebrae, anterior = make_image(spec, 3, index)
        levels = [v.level for v in vertebrae]
        start = chain.index(levels[0])
        assert levels == chain[start:start + len(levels)]  # a consecutive run of C7..S1
        assert levels[0] == 'C7' or levels[-1] == 'S1'      # holding one end whose anatomy names the levels
        anchors.update({levels[0], levels[-1]} & {'C7', 'S1'})
        widths = {v.level: np.linalg.norm(np.subtract(v.keypoints['top_right'], v.keypoints['top_left']))
                  for v in vertebrae}  # endplate lengths: the same whatever the body's tilt
        middle = np.median([w for lv, w in widths.items() if lv not in ('C7', 'S1')])
        if 'C7' in widths:
            assert widths['C7'] < 0.9 * middle
        for v in vertebrae:
            assert (v.attached is not None) == (v.level == 'S1')  # the fused segments drawn, not annotated
            pts = np.array(list(v.keypoints.values()))
            assert pts.min() >= 0 and pts[:, 0].max() < spec.width and pts[:, 1].max() < spec.height
        if levels[-1] == 'S1':
            k = {v.level: v.keypoints for v in vertebrae}
            # the sacral slope: S1 turned towards the posterior side (its anterior edge down) by the drawn 12-28
            # deg, give or take the column's own bend and each body's +-3 deg between L5 and S1
            slopes.append(_turn_to_posterior(k['S1'], anterior) - _turn_to_posterior(k['L5'], anterior))
            assert vertebrae[-1].attached[:, 1].max() > max(y for _, y in k['S1'].values())  # below the S1 body
    assert anchors == {'C7', 'S1'}
    assert min(slopes) > 0 and 15 < np.mean(slopes) < 25


def test_column_ends_lordosis_truth_is_l1_to_s1_superior(tmp_path):
    from spinekey.measurement.spine import measure_spine
    from spinekey.measurement.inputs import read_gt
    spec = SyntheticSpec(column_ends=True, min_vertebrae=19, max_vertebrae=19, height=640)
    write_dataset(str(tmp_path), 4, spec, seed=2)
    truth = json.loads((tmp_path / 'truth.json').read_text())['images']
    films = read_gt(str(tmp_path / 'det_train.json')) + read_gt(str(tmp_path / 'det_test.json'))
    for film in films:
        t = truth[film.file_name]
        assert [v.label for v in film.vertebrae][-1] == 'S1'
        # the package's measurement, on the annotated levels, is the independent computation
        measured = measure_spine(film.vertebrae, t['anterior']).image['lordosis_deg']
        assert measured == pytest.approx(t['lordosis_deg'], abs=0.02)  # rows are rounded to 0.01 deg


def test_column_ends_has_at_most_nineteen_vertebrae():
    with pytest.raises(ValueError, match=r'<= 19 \(C7..S1\)'):
        SyntheticSpec(column_ends=True, max_vertebrae=20).validate()
