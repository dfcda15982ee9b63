"""The oracle chain (each true vertebra measured with its own detection's corners) worked by hand, and the chain's
cost through tools/measure.py on a film whose shipped column is shifted by an extra C7."""
import json
import math

import numpy as np
import pytest

from spinekey.evaluation.oracle_chain import oracle_chain_angles, oracle_column
from spinekey.structures.vertebra import VertebraInput
from tests.conftest import run_tool

NAMES = ('top_left', 'top_right', 'bottom_right', 'bottom_left')


def _quad(cx, cy, tilt_deg, w=60.0, h=40.0):
    """Corners of a w x h rectangle centred at (cx, cy), turned by tilt_deg (y down, so positive turns clockwise)."""
    t = math.radians(tilt_deg)
    u, v = np.array([math.cos(t), math.sin(t)]), np.array([-math.sin(t), math.cos(t)])
    c = np.array([cx, cy])
    return [tuple(c + sx * w / 2 * u + sy * h / 2 * v) for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1))]


def _vertebra(quad, label=None, score=None, bbox=None):
    return VertebraInput(dict(zip(NAMES, quad)), score=score, label=label, bbox=bbox)


def test_each_true_vertebra_takes_its_own_detection_or_its_own_corners():
    truth = [_vertebra(_quad(300, 100 + 60 * k, tilt), label=f'T{k + 1}') for k, tilt in enumerate((0, 10, -5))]
    preds = [_vertebra(_quad(300, 100, 0), score=0.9),        # T1, exact
             _vertebra(_quad(302, 160, 14), score=0.8),       # T2, tilted 14 deg instead of 10
             _vertebra(_quad(300, 40, 30), score=0.99)]       # a confident C7 above T1: paired with nothing
    column = oracle_column(truth, preds)                      # T3 has no detection: its own corners
    assert column.unpaired == 1
    np.testing.assert_allclose(column.corners[1], _quad(302, 160, 14))
    np.testing.assert_allclose(column.corners[2], _quad(300, 220, -5))
    # by hand: directions at 0, 14 and -5 deg; the largest angle is 14 - (-5) = 19 deg; not S-shaped, so the
    # others run from the first vertebra to the upper end (0 -> 14: 14) and from the lower end to the last (0)
    angles, unpaired = oracle_chain_angles(truth, preds, image_height=400)
    np.testing.assert_allclose(angles, [14.0, 19.0, 0.0], atol=1e-9)
    assert unpaired == 1


def test_truth_is_ordered_by_level_and_unusable_films_give_none():
    truth = [_vertebra(_quad(300, 100 + 60 * k, 2 * k), label=lv) for k, lv in enumerate(('L1', 'T12', 'L2'))]
    column = oracle_column(truth, [])  # T12 (drawn second) comes first; nothing detected: all true corners
    np.testing.assert_allclose(column.corners[0], _quad(300, 160, 2))
    assert column.unpaired == 3
    assert oracle_chain_angles(truth, [], image_height=None) is None
    assert oracle_chain_angles(truth[:1], [], image_height=400) is None
    with pytest.raises(ValueError, match='two or more annotated vertebrae'):
        oracle_column(truth[:1], [])


def test_measure_splits_the_error_into_corners_and_chain(tmp_path):
    from spinekey.measurement.aasce import aasce_cobb_angles
    levels = [f'T{i}' for i in range(1, 13)] + [f'L{i}' for i in range(1, 6)]
    tilts = [3 * math.sin(k / 2.5) * (1 + k / 8) for k in range(17)]  # a gentle S, every angle non-zero
    height = 1200
    images, anns, results = [], [], []
    for film in (1, 2):
        quads = [_quad(300, 100 + 55 * k, tilts[k]) for k in range(17)]
        (main, second, third), _ = aasce_cobb_angles(np.array(quads), height)
        images.append({'id': film, 'file_name': f'film {film}.png', 'width': 600, 'height': height,
                       'cobb_angles': [second, main, third]})
        for k, quad in enumerate(quads):
            xs, ys = [p[0] for p in quad], [p[1] for p in quad]
            bbox = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
            kps = [c for p in quad for c in (*p, 2)]
            anns.append({'id': len(anns) + 1, 'image_id': film, 'category_id': 1, 'bbox': bbox, 'area': 2400,
                         'iscrowd': 0, 'keypoints': kps, 'num_keypoints': 4, 'label': levels[k]})
            score = 0.4 if (film == 1 and k == 16) else 0.9  # film 1: a faint L5
            results.append({'image_id': film, 'file_name': f'film {film}.png', 'category_id': 1, 'bbox': bbox,
                            'score': score, 'keypoints': kps})
    c7 = _quad(300, 45, 12.0)  # film 1: a confident C7, tilted, above T1: the 17 best-scored run C7..L4
    results.append({'image_id': 1, 'file_name': 'film 1.png', 'category_id': 1, 'bbox': [270, 25, 60, 40],
                    'score': 0.95, 'keypoints': [c for p in c7 for c in (*p, 2)]})
    gt = tmp_path / 'gt.json'
    gt.write_text(json.dumps({'images': images, 'annotations': anns, 'categories': [
        {'id': 1, 'name': 'vertebra', 'keypoints': list(NAMES)}]}))
    res = tmp_path / 'results.json'
    res.write_text(json.dumps(results))
    proc = run_tool('tools/measure.py', '--input', str(res), '--gt', str(gt), '--out', str(tmp_path / 'm'),
                    '--aasce-smape', '--anterior', 'left', '--unc-samples', '0', '--score-thr', '0.3', check=True)
    shipped = json.loads((tmp_path / 'm' / 'smape.json').read_text())
    oracle = json.loads((tmp_path / 'm' / 'oracle_chain.json').read_text())
    assert shipped['smape'] > 1.0  # film 1 measured on C7..L4
    # every detection's corners are exact, so on the oracle chain nothing is left but the chain
    assert oracle['smape_oracle_chain'] == pytest.approx(0.0, abs=0.01)  # angles kept to 0.001 deg
    assert oracle['chain_cost'] == pytest.approx(shipped['smape'], abs=0.01)
    assert oracle['true_vertebrae_unpaired_per_film'] == 0.0
    film1 = next(f for f in oracle['images'] if f['file_name'] == 'film 1.png')
    np.testing.assert_allclose(film1['pred_oracle_chain'], images[0]['cobb_angles'], atol=1e-3)
    assert f'so choosing the column costs +{shipped["smape"]:.2f} points' in proc.stdout
