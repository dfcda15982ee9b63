"""Gross failures: end levels judged against the true column and QC's catch of the gross films, worked by hand;
through measure_run and tools/measure.py on a film whose measured column starts at an extra C7."""
import json

import pytest

from spinekey.evaluation.gross_failures import FilmOutcome, end_level_errors, gross_failure_check, true_columns
from tests.conftest import run_tool

TRUE = [[50.0, 100.0 + 50 * k] for k in range(5)]  # T1..T5, 50 px apart
LEVELS = ['T1', 'T2', 'T3', 'T4', 'T5']


@pytest.mark.parametrize('top, bottom, expected', [
    (100, 300, []),                                    # the true ends
    (120, 320, []),                                    # within half a spacing of them
    (50, 300, ['extra vertebra above T1']),            # one spacing above T1: a C7
    (150, 300, ['T1 missed (top vertebra at T2)']),
    (100, 260, ['T5 missed (bottom vertebra at T4)']),  # 10 px from T4, 40 px from T5
    (100, 340, ['extra vertebra below T5']),           # 40 px beyond T5 > 25
    (50, 250, ['extra vertebra above T1', 'T5 missed (bottom vertebra at T4)']),
])
def test_end_levels_against_the_true_column(top, bottom, expected):
    assert end_level_errors([[52.0, top], [48.0, bottom]], TRUE, LEVELS) == expected


def test_end_levels_need_two_true_vertebrae():
    with pytest.raises(ValueError, match='two or more true vertebrae'):
        end_level_errors([[0, 0], [0, 1]], TRUE[:1], LEVELS[:1])


def test_qc_catch_of_gross_failures_by_hand():
    films = [FilmOutcome('a', 12.0, [], 'review', 'uncertain_angle: x', 9.0),   # gross by angle, held
             FilmOutcome('b', 3.0, ['T1 missed (top vertebra at T2)'], 'ok', '', 2.0),  # gross by end, let through
             FilmOutcome('c', 2.0, [], 'review', 'gap: y', 5.0),
             FilmOutcome('d', 10.0, [], 'ok', '', 1.0)]                     # exactly 10 deg is not gross
    r = gross_failure_check(films)
    assert (r['n_gross'], r['n_gross_angle'], r['n_gross_end_level']) == (2, 1, 1)
    assert (r['n_review'], r['review_fraction'], r['n_gross_held'], r['held_fraction']) == (2, 0.5, 1, 0.5)
    # gross uncertainties 9, 2 against 5, 1: 9 > 5, 9 > 1, 2 < 5, 2 > 1 -> 3 of 4
    assert r['auroc_uncertainty'] == 0.75
    assert [(f['file_name'], f['why']) for f in r['films']] == [
        ('a', ['an angle off by 12.0 deg']), ('b', ['T1 missed (top vertebra at T2)'])]
    films[0].uncertainty = None
    assert gross_failure_check(films)['auroc_uncertainty'] is None
    assert gross_failure_check(films[2:])['held_fraction'] is None  # no gross film: nothing to hold


def test_true_columns_go_by_level_else_by_height():
    from spinekey.measurement.inputs import images_from_gt
    gt = {'categories': [{'id': 1, 'keypoints': ['top_left', 'top_right', 'bottom_right', 'bottom_left']}],
          'images': [{'id': 1, 'file_name': 'sub/a.png'}, {'id': 2, 'file_name': 'b.png'}], 'annotations': [
        {'image_id': 1, 'category_id': 1, 'label': 'L1', 'bbox': [0, 0, 1, 1],
         'keypoints': [0, 500, 2, 10, 500, 2, 10, 520, 2, 0, 520, 0]},
        {'image_id': 1, 'category_id': 1, 'label': 'T12', 'bbox': [0, 0, 1, 1],
         'keypoints': [0, 900, 2, 10, 900, 2, 10, 920, 2, 0, 920, 2]},
        {'image_id': 2, 'category_id': 1, 'bbox': [0, 300, 10, 20], 'keypoints': [0] * 12},  # none visible
        {'image_id': 2, 'category_id': 1, 'bbox': [0, 100, 10, 20], 'keypoints': [0] * 12}]}
    columns = true_columns(images_from_gt(gt))
    # T12 before L1 whatever their heights; a centre is the mean of the visible corners (the fourth is not)
    assert columns['sub/a.png'] == columns['a.png'] == ([[5.0, 910.0], [20 / 3, 1520 / 3]], ['T12', 'L1'])
    assert columns['b.png'] == ([[5.0, 110.0], [5.0, 310.0]], ['#1', '#2'])  # no labels: top to bottom by box


def _column(top=100.0, n=17, step=52.0):
    return [[(300 - 30, top + k * step - 20), (300 + 30, top + k * step - 20), (300 + 30, top + k * step + 20),
             (300 - 30, top + k * step + 20)] for k in range(n)]


def test_measure_names_an_extra_c7_taken_for_t1(tmp_path):
    levels = [f'T{i}' for i in range(1, 13)] + [f'L{i}' for i in range(1, 6)]
    images = [{'id': i, 'file_name': f'film {i}.png', 'width': 600, 'height': 1100, 'cobb_angles': [1.0, 2.0, 1.0]}
              for i in (1, 2)]
    anns, results = [], []
    for im in images:
        for k, quad in enumerate(_column()):
            kps = [c for p in quad for c in (*p, 2)]
            anns.append({'id': len(anns) + 1, 'image_id': im['id'], 'category_id': 1,
                         'bbox': [270, quad[0][1], 60, 40], 'area': 2400, 'iscrowd': 0, 'keypoints': kps,
                         'num_keypoints': 4, 'label': levels[k]})
            score = 0.4 if (im['id'] == 1 and k == 16) else 0.9  # film 1: a faint L5
            results.append({'image_id': im['id'], 'file_name': im['file_name'], 'category_id': 1,
                            'bbox': [270, quad[0][1], 60, 40], 'score': score, 'keypoints': kps})
    c7 = _column(top=100.0 - 52.0, n=1)[0]  # film 1: a confident C7 above T1
    results.append({'image_id': 1, 'file_name': 'film 1.png', 'category_id': 1, 'bbox': [270, c7[0][1], 60, 40],
                    'score': 0.95, 'keypoints': [c for p in c7 for c in (*p, 2)]})
    gt = tmp_path / 'gt.json'
    gt.write_text(json.dumps({'images': images, 'annotations': anns, 'categories': [
        {'id': 1, 'name': 'vertebra', 'keypoints': ['top_left', 'top_right', 'bottom_right', 'bottom_left']}]}))
    res = tmp_path / 'results.json'
    res.write_text(json.dumps(results))
    proc = run_tool('tools/measure.py', '--input', str(res), '--gt', str(gt), '--out', str(tmp_path / 'm'),
                    '--aasce-smape', '--anterior', 'left', '--unc-samples', '0', '--score-thr', '0.3', check=True)
    written = json.loads((tmp_path / 'm' / 'gross_failures.json').read_text())
    # the 17 best-scored consecutive vertebrae of film 1 run C7..L4: both ends wrong; film 2 is measured right
    assert [(f['file_name'], f['why']) for f in written['films']] == [
        ('film 1.png', ['extra vertebra above T1', 'L5 missed (bottom vertebra at L4)'])]
    assert (written['n_films'], written['n_gross_end_level'], written['n_gross_angle']) == (2, 1, 0)
    assert 'gross failures (an angle off by more than 10 deg or a wrong end level): 1 of 2 films' in proc.stdout
