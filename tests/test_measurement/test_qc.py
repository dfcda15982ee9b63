"""QC rules on hand-built spines: each fires on its defect and stays silent on a clean spine."""
import numpy as np
import pytest

from spinekey.measurement.qc import QCThresholds, corners_in_order, detection_qc, film_reasons, vertebra_reasons
from spinekey.structures.vertebra import CORNERS, VertebraInput
from spinekey.measurement.options import MeasureOptions
from spinekey.measurement.spine import measure_spine
from tests.test_measurement.test_chain import column


def codes(reasons):
    return {r.split(':')[0] for r in reasons}


def test_a_clean_spine_is_ok_everywhere():
    spine = column(17)
    for v in spine:
        v.keypoint_scores = {n: 0.9 for n in CORNERS}
    m = measure_spine(spine, 'left', options=MeasureOptions(expected_levels=17))
    assert all(r['qc_status'] == 'ok' and r['qc_reasons'] == '' for r in m.vertebrae)
    assert m.image['qc_status'] == 'ok' and m.image['qc_reasons'] == ''


def _flip(v, a, b):
    v.points[a], v.points[b] = v.points[b], v.points[a]


@pytest.mark.parametrize('defect, code', [
    (lambda s: s[8].points.pop('top_left'), 'missing_keypoints'),
    (lambda s: setattr(s[8], 'score', 0.3), 'low_score'),
    (lambda s: setattr(s[8], 'keypoint_scores', {'top_left': 0.1, 'top_right': 0.9}), 'low_keypoint_score'),
    (lambda s: _flip(s[8], 'top_left', 'top_right'), 'corner_order'),
    (lambda s: _flip(s[8], 'top_right', 'bottom_right'), 'corner_order'),
    (lambda s: s.__setitem__(8, column(17, height=80.0, gap=-28.0)[8]), 'size_jump'),
    (lambda s: s.__setitem__(8, column(17, tilt_deg=[25.0] * 17)[8]), 'slope_outlier'),
])
def test_each_vertebra_rule_fires_on_its_defect(defect, code):
    spine = column(17)
    defect(spine)
    reasons = vertebra_reasons(spine)
    assert code in codes(reasons[8])
    assert all(not r for i, r in enumerate(reasons) if abs(i - 8) > 1)  # far neighbours stay clean


def test_a_duplicate_is_flagged_on_both_boxes():
    spine = column(17)
    twin = VertebraInput({n: (x + 2, y + 2) for n, (x, y) in spine[8].points.items()}, 0.9)
    reasons = vertebra_reasons(spine[:9] + [twin] + spine[9:])
    assert 'duplicate' in codes(reasons[8]) and 'duplicate' in codes(reasons[9])


@pytest.mark.parametrize('spine, expected, code', [
    ([], None, 'no_vertebrae'),
    (column(1), None, 'single_vertebra'),
    (column(12), 17, 'count_low'),
    (column(19), 17, 'count_high'),
    (column(17)[:9] + column(17)[11:], None, 'gap'),
    ([VertebraInput(v.points, 0.4) for v in column(17)], None, 'low_recognition'),
])
def test_each_film_rule_fires_on_its_defect(spine, expected, code):
    reasons = film_reasons(spine, vertebra_reasons(spine), expected)
    assert code in codes(reasons)
    assert code not in codes(film_reasons(column(17), vertebra_reasons(column(17)), 17))


def test_bad_films_are_review_never_an_exception():
    """No detections, a single vertebra, NaN keypoints (dropped on reading: missing)."""
    for spine in ([], column(1), [VertebraInput({}, 0.9, bbox=[10, 10, 40, 30])] + column(5)):
        m = measure_spine(spine, 'left')
        assert m.image['qc_status'] == 'review' and m.image['qc_reasons']


def test_corner_order_by_hand():
    square = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], float)  # TL TR BR BL, y down
    assert corners_in_order(square)
    assert not corners_in_order(square[[1, 0, 2, 3]])  # left and right swapped on top
    assert not corners_in_order(square[[0, 2, 1, 3]])  # crossing (bow tie)


def test_an_uncertain_angle_sends_the_film_to_review_and_a_certain_one_does_not():
    unsure = column(17)
    for v in unsure:
        v.keypoint_unc = {n: 0.0 for n in CORNERS}
    clean = measure_spine(unsure, 'left', options=MeasureOptions(expected_levels=17))
    assert 'uncertain_angle' not in codes(clean.image['qc_reasons'].split('; '))
    unsure[8].keypoint_unc = {n: 6.0 for n in CORNERS}  # corners +-6 px on a 40 px endplate: several degrees
    m = measure_spine(unsure, 'left', options=MeasureOptions(expected_levels=17))
    assert m.image['cobb_deg_unc'] > QCThresholds().max_angle_unc_deg
    assert 'uncertain_angle' in codes(m.image['qc_reasons'].split('; ')) and m.image['qc_status'] == 'review'
    lenient = QCThresholds(max_angle_unc_deg=m.image['cobb_deg_unc'] + 1)
    relaxed = measure_spine(unsure, 'left', options=MeasureOptions(expected_levels=17, qc=lenient))
    assert 'uncertain_angle' not in codes(relaxed.image['qc_reasons'].split('; '))


def test_thresholds_come_from_a_config_dict_and_unknown_keys_are_named():
    th = QCThresholds.from_config({'size_ratio': 2, 'slope_deg': 12.5})
    assert (th.size_ratio, th.slope_deg, th.min_score) == (2.0, 12.5, QCThresholds().min_score)
    with pytest.raises(ValueError, match='unknown QC threshold.*slope_degrees'):
        QCThresholds.from_config({'slope_degrees': 12})


def test_the_runtime_config_holds_the_default_thresholds():
    from mmengine.config import Config
    cfg = Config.fromfile('configs/_base_/default_runtime.py')
    assert QCThresholds.from_config(cfg.qc) == QCThresholds()


def test_detection_qc_answers_in_input_order():
    spine = column(17)
    spine[3].score = 0.2
    shuffled = spine[::-1]  # results.json order is by score, not along the spine
    answers = detection_qc(shuffled)
    assert [s for s, _ in answers].count('review') == 1
    assert answers[len(spine) - 1 - 3][0] == 'review' and 'low_score' in answers[len(spine) - 1 - 3][1]


def test_film_policy_thresholds_count_flagged_vertebrae_and_tolerate_extra_levels():
    """Two flagged vertebrae send a film to review by default, not with film_flagged_min=3; 19 vertebrae for
    17 levels are count_high by default, not with extra_levels_ok=2 (but 20 are)."""
    spine = column(17)
    for i in (4, 12):
        spine[i].score = 0.3
    per_vertebra = vertebra_reasons(spine)
    assert sum(bool(r) for r in per_vertebra) == 2
    assert 'vertebrae_flagged' in codes(film_reasons(spine, per_vertebra, 17))
    tolerant = QCThresholds(film_flagged_min=3, extra_levels_ok=2)
    assert film_reasons(spine, per_vertebra, 17, tolerant) == []
    spine[8].score = 0.3
    assert 'vertebrae_flagged' in codes(film_reasons(spine, vertebra_reasons(spine), 17, tolerant))
    for n, fires in ((19, False), (20, True)):
        long_spine = column(n)
        reasons = film_reasons(long_spine, vertebra_reasons(long_spine), 17, tolerant)
        assert ('count_high' in codes(reasons)) == fires
        assert 'count_high' in codes(film_reasons(long_spine, vertebra_reasons(long_spine), 17))


def test_a_column_running_across_the_film_is_flagged_rotated():
    from spinekey.structures.vertebra import VertebraInput
    upright = column(6)
    turned = [VertebraInput({n: (p[1], p[0]) for n, p in v.points.items()}, v.score) for v in upright]
    assert 'film_rotated' in codes(film_reasons(turned, vertebra_reasons(turned)))
    assert 'film_rotated' not in codes(film_reasons(upright, vertebra_reasons(upright)))


def test_shrink_factor_by_hand_and_the_film_shrunk_reason():
    from spinekey.measurement.qc import shrink_factor, shrink_reason
    # 512 x 4000 film into (1333, 800): the long side limits, 4000 / 1333 = 3.0x; into (512, 512): 7.8x
    assert shrink_factor(512, 4000, (1333, 800)) == pytest.approx(4000 / 1333)
    assert shrink_factor(512, 4000, (512, 512)) == pytest.approx(4000 / 512)
    assert shrink_reason(512, 4000, (1333, 800)) is None
    reason = shrink_reason(512, 4000, (512, 512))
    assert reason.startswith('film_shrunk: the film (512x4000 px) was shrunk 7.8x')
    assert shrink_reason(512, 4000, None) is None


def test_a_landscape_film_with_almost_nothing_found_is_asked_about():
    from spinekey.measurement.qc import landscape_reason
    assert landscape_reason(2000, 1000, 1).startswith('film_landscape: the film (2000x1000 px) is wider than tall '
                                                      'and 1 vertebra(e)')
    assert landscape_reason(2000, 1000, 0) is not None
    assert landscape_reason(2000, 1000, 3) is None  # a column to judge: film_rotated's job
    assert landscape_reason(1000, 2000, 0) is None and landscape_reason(1190, 1000, 0) is None  # upright / square
    assert landscape_reason(None, 1000, 0) is None


def test_an_aasce_window_that_left_out_an_end_vertebra_is_named_when_asked():
    def reasons(n, **th):
        spine = column(n)
        spine[0].score, spine[-1].score = 0.95, 0.4  # a confident top (a C7?) and a faint bottom
        m = measure_spine(spine, 'left', None, 1200, MeasureOptions(aasce=True, qc=QCThresholds(extra_levels_ok=2,
                                                                                                **th)))
        return [r for r in m.image['qc_reasons'].split('; ') if r]
    choice = [r for r in reasons(18, end_level_choice=1) if r.startswith('end_level_choice')]
    assert choice == ['end_level_choice: 18 vertebrae found and 17 measured (1 below left out): the top may not '
                      'be T1 or the bottom not L5']
    assert 'end_level_choice' not in codes(reasons(18))                      # off unless the config asks
    assert 'end_level_choice' not in codes(reasons(17, end_level_choice=1))  # nothing left out
    many = codes(reasons(20, end_level_choice=1))                            # count_high says it already
    assert 'count_high' in many and 'end_level_choice' not in many


def narrow_bottom(n, bottom_width):
    """A column of 60 px wide vertebrae whose bottom one is ``bottom_width`` px wide (a sacral segment?)."""
    spine = column(n)
    spine[-1] = column(n, width=bottom_width)[-1]
    return spine


def test_a_bottom_vertebra_narrower_than_those_above_is_named_when_asked():
    from spinekey.measurement.qc import bottom_width_ratio
    from spinekey.structures.vertebra import quad_width
    assert quad_width(np.array([[0, 0], [50, 0], [56, 30], [-2, 30]], float)) == pytest.approx(54.0)  # (50+58)/2
    assert bottom_width_ratio(narrow_bottom(17, 54.0)) == pytest.approx(0.9)  # 54 / median(60, 60, 60)
    assert bottom_width_ratio(column(3)) is None                              # three vertebrae: nothing above

    def reasons(bottom_width, **th):
        m = measure_spine(narrow_bottom(17, bottom_width), 'left', None, 1200,
                          MeasureOptions(aasce=True, qc=QCThresholds(**th)))
        return [r for r in m.image['qc_reasons'].split('; ') if r]
    assert [r for r in reasons(54.0, min_bottom_width_ratio=0.95) if r.startswith('end_width')] == [
        'end_width: the bottom vertebra is 0.90x as wide as the three above it (L5 is usually the widest): the '
        'bottom may not be L5']
    assert 'end_width' not in codes(reasons(54.0))                              # off unless the config asks
    assert 'end_width' not in codes(reasons(54.0, min_bottom_width_ratio=0.85))  # above the threshold
    assert 'end_width' not in codes(reasons(66.0, min_bottom_width_ratio=0.95))  # a wide L5: the usual
