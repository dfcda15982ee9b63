"""measure_spine on GT keypoints reproduces the generator's landmark truth; bad geometry gets notes."""
import json
import os

import numpy as np
import pytest

from spinekey.measurement.inputs import read_gt
from spinekey.structures.vertebra import VertebraInput, order_vertebrae
from spinekey.measurement.options import MeasureOptions
from spinekey.measurement.spine import measure_spine, name_levels


def _rect(x, y, w=40.0, h=20.0, label=None):
    return VertebraInput({'top_left': (x, y), 'top_right': (x + w, y), 'bottom_right': (x + w, y + h),
                          'bottom_left': (x, y + h)}, label=label)


def test_gt_measurements_equal_the_landmark_truth(synthetic_dir):
    truth = json.load(open(os.path.join(synthetic_dir, 'truth.json')))['images']
    checked = 0
    with_lordosis = 0
    for split in ('det_train.json', 'det_val.json', 'det_test.json'):
        for im in read_gt(os.path.join(synthetic_dir, split)):
            t = truth[im.file_name]
            m = measure_spine(im.vertebrae, t['anterior'], im.pixel_spacing)
            assert [r['level'] for r in m.vertebrae] == [v['level'] for v in t['vertebrae']]
            for row, tv in zip(m.vertebrae, t['vertebrae']):
                lm = tv['landmark']
                for key in ('height_anterior_px', 'height_middle_px', 'height_posterior_px'):
                    assert row[key] == pytest.approx(lm[key], abs=0.02)  # GT keypoints are rounded to 0.01 px
                assert row['height_anterior_mm'] == pytest.approx(lm['height_anterior_px'] * 0.3, abs=0.01)
                if lm['slip_percent'] is None:
                    assert 'slip_percent' not in row
                else:
                    assert row['slip_percent'] == pytest.approx(lm['slip_percent'], abs=0.2)
                checked += 1
            assert m.image['cobb_deg'] == pytest.approx(t['cobb_deg'], abs=0.1)
            assert (m.image['cobb_upper_level'], m.image['cobb_lower_level']) == \
                (t['cobb_upper_level'], t['cobb_lower_level'])
            if t['lordosis_deg'] is None:  # no L1 and L5 on the film: no lordosis, and a note says why
                assert m.image.get('lordosis_deg') is None
            else:
                assert m.image['lordosis_deg'] == pytest.approx(t['lordosis_deg'], abs=0.1)
                with_lordosis += 1
    assert checked > 50 and with_lordosis > 0


def test_design_grades_mostly_recovered_from_gt_corners(synthetic_dir):
    """The grades the generator imposed are what the corners show, except where 4 corners cannot see it
    (a crushed middle) or curvature shifts a corner across the 5% slip boundary: measured here on 250
    images as 95% (Genant) and 88% (Meyerding); the bar below leaves room for the small fixture."""
    truth = json.load(open(os.path.join(synthetic_dir, 'truth.json')))['images']
    slips = genant = total = 0
    for split in ('det_train.json', 'det_val.json', 'det_test.json'):
        for im in read_gt(os.path.join(synthetic_dir, split)):
            t = truth[im.file_name]
            m = measure_spine(im.vertebrae, t['anterior'])
            for row, tv in zip(m.vertebrae, t['vertebrae']):
                total += 1
                genant += row['genant_grade'] == tv['genant_grade']
                slips += row.get('meyerding_grade', 0) == tv['meyerding_grade']
    assert genant >= 0.85 * total
    assert slips >= 0.75 * total


def test_order_follows_the_column_not_the_list():
    shuffled = [_rect(100, 60), _rect(100, 0), _rect(100, 30)]
    assert order_vertebrae(shuffled) == [1, 2, 0]


def test_levels_from_labels_or_given_end():
    vs = [_rect(0, 0, label='L4'), _rect(0, 30, label='L5')]
    assert name_levels(vs) == ['L4', 'L5']
    unlabelled = [_rect(0, 0), _rect(0, 30), _rect(0, 60)]
    assert name_levels(unlabelled, bottom_level='S1') == ['L4', 'L5', 'S1']
    assert name_levels(unlabelled, top_level='T11') == ['T11', 'T12', 'L1']
    assert name_levels(unlabelled) == ['', '', '']


def test_more_vertebrae_than_levels_blanks_the_levels_and_says_why():
    """19 detections from T1 (C7 and the sacrum found too) cannot all be named: one film must not stop a run."""
    from spinekey.structures.levels import LevelOverflow
    column = [_rect(0, 30 * i) for i in range(19)]
    with pytest.raises(LevelOverflow, match='19 vertebrae cannot start at T1'):
        name_levels(column, top_level='T1')
    m = measure_spine(column, 'left', options=MeasureOptions(top_level='T1'))
    assert [row['level'] for row in m.vertebrae] == [''] * 19
    assert '19 vertebrae cannot start at T1: levels left blank' in m.image['note']
    assert m.image['cobb_deg'] is not None  # the angles do not need level names
    with pytest.raises(ValueError, match='unknown level'):
        name_levels(column, top_level='T13')


def test_missing_keypoint_gives_note_not_number():
    broken = _rect(0, 30)
    del broken.points['top_left']
    m = measure_spine([_rect(0, 0), broken, _rect(0, 60)], 'left')
    row = m.vertebrae[1]
    assert 'height_anterior_px' not in row and 'top_left' in row['note']
    assert 'slip' in m.vertebrae[0]['note']          # slip to the broken vertebra below cannot be measured
    assert m.vertebrae[2]['genant_grade'] == 0
    assert m.image['cobb_deg'] == pytest.approx(0.0)  # from the two intact rectangles


def test_fewer_than_two_vertebrae_means_no_angles_and_a_note():
    m = measure_spine([_rect(0, 0)], 'left')
    assert m.image.get('cobb_deg') is None and m.image.get('lordosis_deg') is None
    assert 'no Cobb' in m.image['note']


def test_degenerate_geometry_is_reported_not_divided_by():
    flat = VertebraInput({'top_left': (0, 0), 'top_right': (40, 0), 'bottom_right': (40, 0),
                          'bottom_left': (0, 0)})
    m = measure_spine([flat, _rect(0, 10)], 'left')
    assert 'degenerate' in m.vertebrae[0]['note'] and 'wedge_ratio' not in m.vertebrae[0]
    point = VertebraInput({'top_left': (0, 40), 'top_right': (0, 40), 'bottom_right': (40, 60),
                           'bottom_left': (0, 60)})
    m = measure_spine([_rect(0, 0), point], 'left')
    assert 'zero-length superior endplate' in m.vertebrae[0]['note']


def test_mm_uses_row_and_column_spacing_separately():
    m = measure_spine([_rect(0, 0, w=40, h=20), _rect(0, 30)], 'left', spacing=[0.5, 0.25])
    assert m.vertebrae[0]['height_anterior_mm'] == pytest.approx(10.0)  # 20 rows x 0.5 mm


def test_aasce_window_prefers_the_best_scored_run_of_17():
    from spinekey.measurement.aasce import aasce_window
    scores = [0.4] + [0.9] * 17 + [0.5]     # a weak C7 above and a weak sacrum below
    assert aasce_window(scores) == (1, 18)
    assert aasce_window([0.9] * 10) == (0, 10)
    assert aasce_window([None] * 18) == (0, 17)


def test_aasce_angles_skip_an_extra_low_scored_vertebra():
    from tests.test_measurement.test_aasce_cobb import spine
    corners = spine(list(np.linspace(-10, 20, 17)) + [60.0])   # a steep 18th "sacrum"
    names = ('top_left', 'top_right', 'bottom_right', 'bottom_left')
    vs = [VertebraInput(dict(zip(names, map(tuple, c))), score=0.9 if i < 17 else 0.35)
          for i, c in enumerate(corners)]
    m = measure_spine(vs, 'left', image_height=2000, options=MeasureOptions(aasce=True))
    assert m.image['cobb_mt_deg'] == pytest.approx(30.0, abs=1e-3)
    assert 'highest scores' in m.image['note']


def _wedged_column():
    """Five flat vertebrae but the third, a wedge whose endplates differ by 20 deg: the largest angle between
    any superior and inferior endplate is inside that one vertebra (20 deg), but a Cobb angle spans two."""
    from tests.test_measurement.test_chain import column
    spine = column(5)
    v = spine[2]
    top_y, bottom_y = v.points['top_left'][1], v.points['bottom_left'][1]
    x0, x1 = v.points['bottom_left'][0], v.points['bottom_right'][0]
    rise = (x1 - x0) * np.tan(np.radians(20))
    v.points['bottom_left'] = (x0, bottom_y)
    v.points['bottom_right'] = (x1, bottom_y - rise)
    v.points['top_left'], v.points['top_right'] = (x0, top_y), (x1, top_y)
    return spine


def test_a_cobb_angle_spans_two_vertebrae():
    m = measure_spine(_wedged_column(), 'left', options=MeasureOptions(unc_samples=0))
    upper, lower = m.cobb_ends
    assert upper < lower
    # by hand: vertebra 3's tilted inferior endplate (20 deg) against the flat superior endplates above it
    assert m.image['cobb_deg'] == pytest.approx(20.0, abs=0.5) and upper < 2 and lower == 2


def test_no_lordosis_without_its_levels_and_a_note_says_why():
    from tests.test_measurement.test_chain import column
    unnamed = measure_spine(column(6), 'left', options=MeasureOptions(unc_samples=0))
    assert unnamed.image.get('lordosis_deg') is None and unnamed.lordosis_ends is None
    assert 'lordosis needs L1 and L5 or S1' in unnamed.image['note']
    named = measure_spine(column(6), 'left', options=MeasureOptions(bottom_level='S1', unc_samples=0))
    assert named.image['lordosis_levels'] == 'L1 superior - S1 superior' and named.image['lordosis_deg'] is not None
    # levels known, no lumbar
    thoracic = measure_spine(column(6), 'left', options=MeasureOptions(top_level='T1', unc_samples=0))
    assert thoracic.image.get('lordosis_deg') is None and 'lordosis' not in thoracic.image['note']


def test_an_ap_film_gets_no_lateral_film_measures():
    """On an AP film a wedged vertebra is scoliosis, not a fracture, and its side shift is not a slip: the same
    column measured as a lateral film and as an AP one (by the option, or implied by the AASCE angles)."""
    spine = _wedged_column()  # the 20-deg wedge: a Genant grade on a lateral film
    spine[3].points = {n: (x + 12, y) for n, (x, y) in spine[3].points.items()}  # shifted: a slip on a lateral film
    lateral = measure_spine(spine, 'left', options=MeasureOptions(top_level='L1', unc_samples=0))
    assert max(r['genant_grade'] for r in lateral.vertebrae) >= 1
    assert any(r.get('meyerding_grade') is not None for r in lateral.vertebrae)
    assert lateral.image['lordosis_deg'] is not None and 'AP view' not in lateral.image['note']
    for options in (MeasureOptions(top_level='L1', unc_samples=0, view='ap'),
                    MeasureOptions(top_level='L1', unc_samples=0, aasce=True)):
        ap = measure_spine(spine, 'left', image_height=400, options=options)
        for row, same in zip(ap.vertebrae, lateral.vertebrae):
            assert not {'genant_grade', 'slip_percent', 'meyerding_grade'} & set(row)
            assert row['wedge_ratio'] == same['wedge_ratio']  # the side heights are still measured
        assert ap.image.get('lordosis_deg') is None and ap.image['cobb_deg'] == lateral.image['cobb_deg']
        assert 'AP view: no Genant or Meyerding grade' in ap.image['note']
    assert MeasureOptions(aasce=True, view='lateral').film_view == 'lateral'  # a user's word wins
    with pytest.raises(ValueError, match="unknown film view 'sideways'"):
        MeasureOptions(view='sideways')
