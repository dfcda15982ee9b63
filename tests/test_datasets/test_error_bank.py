"""The refiner's error bank: stage 1's errors in each vertebra's own frame (turned level, divided by its size),
measured on hand-built detections with known errors, and put back onto other vertebrae by the patch dataset."""
import json

import cv2
import numpy as np
import pytest

from tests.conftest import run_tool

NAMES = ['top_left', 'top_right', 'bottom_right', 'bottom_left']


def _vertebra(angle_deg, centre, w=100.0, h=60.0):
    a = np.radians(angle_deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    half = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])
    return half @ rot.T + np.asarray(centre, float)


def test_an_error_in_the_vertebras_frame_by_hand_and_back():
    from spinekey.datasets.patch_geometry import errors_in_vertebra_frame, errors_to_film, vertebra_size
    upright = _vertebra(0.0, (300, 400))
    assert vertebra_size(upright) == pytest.approx(100.0)
    shift = np.tile([5.0, -3.0], (4, 1))
    np.testing.assert_allclose(errors_in_vertebra_frame(shift, upright, NAMES), np.tile([0.05, -0.03], (4, 1)))
    # turned 90 deg (endplates point down the film): an error down the film runs along the endplate (+x of its
    # frame); its bounding box is then 60 x 100, still size 100
    turned = _vertebra(90.0, (300, 400))
    down = np.tile([0.0, 5.0], (4, 1))
    np.testing.assert_allclose(errors_in_vertebra_frame(down, turned, NAMES), np.tile([0.05, 0.0], (4, 1)),
                               atol=1e-12)
    rng = np.random.default_rng(1)
    for angle in (-35.0, 7.0, 140.0):
        truth = _vertebra(angle, (500, 600), w=rng.uniform(40, 200), h=rng.uniform(30, 120))
        err = rng.normal(0, 8, (4, 2))
        back = errors_to_film(errors_in_vertebra_frame(err, truth, NAMES), truth, NAMES)
        np.testing.assert_allclose(back, err, atol=1e-9)


def _coco_and_results(tmp_path):
    """Two films, three true vertebrae each; every detection is its true vertebra moved by a known error, one
    detection scores under the threshold and one sits on no vertebra."""
    images, anns, results = [], [], []
    known = []
    for image_id, angle in ((1, 0.0), (2, 90.0)):
        images.append({'id': image_id, 'file_name': f'film{image_id}.png', 'width': 800, 'height': 1200})
        for j in range(3):
            truth = _vertebra(angle, (400, 300 + 200 * j)) if angle == 0 else _vertebra(angle, (200 + 200 * j, 400))
            err = np.array([[4.0, 2.0], [6.0, -2.0], [-3.0, 1.0], [0.0, 5.0]]) * (j + 1)
            box = [*truth.min(0), *(truth.max(0) - truth.min(0))]
            anns.append({'id': len(anns) + 1, 'image_id': image_id, 'category_id': 1, 'bbox': box, 'area': 6000.0,
                         'iscrowd': 0, 'num_keypoints': 4,
                         'keypoints': [float(v) for p in truth for v in (*p, 2)]})
            pred = truth + err
            results.append({'image_id': image_id, 'category_id': 1, 'bbox': box, 'score': 0.9 if j < 2 else 0.1,
                            'keypoints': [float(v) for p in pred for v in (*p, 0.9)]})
            if j < 2:
                known.append((err, truth))
        results.append({'image_id': image_id, 'category_id': 1, 'bbox': [700, 1100, 50, 50], 'score': 0.8,
                        'keypoints': [700.0, 1100.0, 0.9] * 4})
    gt = {'images': images, 'annotations': anns,
          'categories': [{'id': 1, 'name': 'vertebra', 'keypoints': NAMES, 'skeleton': []}]}
    (tmp_path / 'gt.json').write_text(json.dumps(gt))
    (tmp_path / 'results.json').write_text(json.dumps(results))
    return gt, results, known


def test_the_bank_holds_each_paired_detections_error_in_its_own_frame(tmp_path):
    from spinekey.apis.stage1_errors import stage1_errors
    from spinekey.datasets.patch_geometry import errors_in_vertebra_frame
    gt, results, known = _coco_and_results(tmp_path)
    bank = stage1_errors(gt, results, score_thr=0.3)
    expected = np.array([errors_in_vertebra_frame(e, t, NAMES) for e, t in known])
    assert bank.shape == (4, 4, 2)  # the faint detection and the stray are left out
    np.testing.assert_allclose(np.sort(bank.reshape(4, -1), 0), np.sort(expected.reshape(4, -1), 0), atol=1e-9)
    # the upright film's first vertebra by hand: (4, 2) px on a 100 px vertebra
    assert any(np.allclose(b[0], [0.04, 0.02]) for b in bank)


def test_the_tool_writes_the_bank_and_refuses_results_of_other_films(tmp_path):
    _coco_and_results(tmp_path)
    out = tmp_path / 'bank.npy'
    proc = run_tool('tools/stage1_errors.py', '--results', str(tmp_path / 'results.json'), '--gt',
                    str(tmp_path / 'gt.json'), '--out', str(out), check=True)
    assert '2 of 2 films: 4 vertebrae' in proc.stdout
    assert np.load(out).shape == (4, 4, 2)
    other = [{'image_id': 99, 'category_id': 1, 'bbox': [0, 0, 9, 9], 'score': 0.9, 'keypoints': [1.0] * 12}]
    (tmp_path / 'other.json').write_text(json.dumps(other))
    proc = run_tool('tools/stage1_errors.py', '--results', str(tmp_path / 'other.json'), '--gt',
                    str(tmp_path / 'gt.json'), '--out', str(tmp_path / 'b2.npy'))
    assert proc.returncode != 0 and 'image_id 99 is not in the ground truth' in proc.stderr
    assert 'Traceback' not in proc.stderr and not (tmp_path / 'b2.npy').exists()
    # results that number the films otherwise (tools/infer.py without --ann-file counts from 0): refused, not paired
    swapped = [dict(r, image_id=3 - r['image_id'], file_name=f'film{r["image_id"]}.png')
               for r in json.loads((tmp_path / 'results.json').read_text())]
    (tmp_path / 'swapped.json').write_text(json.dumps(swapped))
    proc = run_tool('tools/stage1_errors.py', '--results', str(tmp_path / 'swapped.json'), '--gt',
                    str(tmp_path / 'gt.json'), '--out', str(tmp_path / 'b3.npy'))
    assert proc.returncode != 0 and 'the two files number the films differently' in proc.stderr
    assert not (tmp_path / 'b3.npy').exists()


def _patch_dataset(tmp_path, **kwargs):
    from spinekey.datasets.vertebra_patch_dataset import VertebraPatchDataset
    gt, _, _ = _coco_and_results(tmp_path)
    (tmp_path / 'images').mkdir(exist_ok=True)
    for im in gt['images']:
        cv2.imwrite(str(tmp_path / 'images' / im['file_name']), np.full((1200, 800), 90, np.uint8))
    return VertebraPatchDataset('gt.json', data_root=str(tmp_path), img_prefix='images/', patch_size=64,
                                photometric=False, **kwargs)


def test_the_patch_dataset_frames_true_vertebrae_with_errors_from_the_bank(tmp_path):
    from spinekey.datasets.patch_geometry import errors_to_film
    one = np.array([[[0.10, 0.0], [0.10, 0.0], [0.0, 0.05], [0.0, 0.05]]])
    np.save(tmp_path / 'one.npy', one)
    data = _patch_dataset(tmp_path, error_bank=str(tmp_path / 'one.npy'), error_bank_share=1.0)
    rng = np.random.default_rng(0)
    turned = _vertebra(90.0, (300, 400))
    moved = data.simulate_stage1(turned, rng)  # the bank's only error, turned onto this vertebra
    np.testing.assert_allclose(moved - turned, errors_to_film(one[0], turned, NAMES), atol=1e-9)
    np.testing.assert_allclose((moved - turned)[0], [0.0, 10.0], atol=1e-9)  # 0.1 of 100 px along its endplate
    item = data[0]
    assert item['inputs'].shape == (3, 1, 64, 64) and item['data_samples']['keypoints'].shape == (3, 4, 2)
    gauss = _patch_dataset(tmp_path, error_bank=str(tmp_path / 'one.npy'), error_bank_share=0.0)
    assert not np.allclose(gauss.simulate_stage1(turned, rng) - turned, moved - turned)


def test_a_bank_for_another_k_or_of_the_wrong_shape_is_one_clear_line(tmp_path):
    from spinekey.utils.errors import SpineKeyError
    np.save(tmp_path / 'k6.npy', np.zeros((3, 6, 2)))
    np.save(tmp_path / 'flat.npy', np.zeros((3, 8)))
    with pytest.raises(SpineKeyError, match='errors of 6 keypoints, the dataset has K=4'):
        _patch_dataset(tmp_path, error_bank=str(tmp_path / 'k6.npy'))
    with pytest.raises(SpineKeyError, match=r'\(N, K, 2\) array.*shape \(3, 8\)'):
        _patch_dataset(tmp_path, error_bank=str(tmp_path / 'flat.npy'))
    with pytest.raises(SpineKeyError, match='not an error bank'):
        _patch_dataset(tmp_path, error_bank=str(tmp_path / 'missing.npy'))
    with pytest.raises(SpineKeyError, match='error_bank_share must be in'):
        _patch_dataset(tmp_path, error_bank_share=2.0)


def test_the_refiner_check_starts_from_the_truth_its_noise_and_stage_1s_errors(tmp_path, refiner_files):
    """tools/check_refiner.py on the hand-built films with an untrained refiner: the starts' errors are the known
    ones (0 from the truth, stage 1's by hand, the moved errors a reshuffle of the same sizes) and every start is
    refined into a finite error."""
    _patch_dataset(tmp_path)  # writes the films
    config, checkpoint = refiner_files
    proc = run_tool('tools/check_refiner.py', '--config', config, '--checkpoint', checkpoint, '--results',
                    str(tmp_path / 'results.json'), '--gt', str(tmp_path / 'gt.json'), '--images-dir',
                    str(tmp_path / 'images'), '--out', str(tmp_path / 'check.json'), check=True)
    check = json.loads((tmp_path / 'check.json').read_text())
    assert check['vertebrae'] == 4 and check['films'] == 2
    starts = check['starts']
    # stage 1's errors by hand: the base error's corner norms, x1 and x2 on each film
    base = np.linalg.norm([[4.0, 2.0], [6.0, -2.0], [-3.0, 1.0], [0.0, 5.0]], axis=1).mean()
    assert starts['stage1']['before_px'] == pytest.approx(base * 1.5, abs=0.01)
    assert starts['stage1_error_moved']['before_px'] == pytest.approx(base * 1.5, abs=0.01)
    assert starts['truth']['before_px'] == 0.0 and starts['training_noise']['before_px'] > 0
    assert all(np.isfinite(v['after_px']) for v in starts.values())
    assert sum(b['vertebrae'] for b in check['from_truth_by_stage1_error'].values()) == 4
    assert "stage 1's corners" in proc.stdout
