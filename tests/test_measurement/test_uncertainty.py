"""Measurement uncertainty by Monte Carlo, checked against first-order error propagation worked by hand."""
import math

import pytest

from spinekey.measurement.options import MeasureOptions
from spinekey.measurement.spine import IMAGE_COLUMNS, VERTEBRA_COLUMNS, measure_spine
from spinekey.structures.vertebra import VertebraInput

NAMES = ('top_left', 'top_right', 'bottom_right', 'bottom_left')


def _rect(x, y, unc=None, w=40.0, h=20.0):
    pts = {'top_left': (x, y), 'top_right': (x + w, y), 'bottom_right': (x + w, y + h), 'bottom_left': (x, y + h)}
    return VertebraInput(pts, keypoint_unc=None if unc is None else {n: unc.get(n, 0.0) for n in NAMES})


def test_a_height_inherits_the_uncertainty_of_its_one_uncertain_corner():
    # anterior height = |top_left - bottom_left| = 20 px; only bottom_left moves (sd 2 px in x and in y):
    # to first order the height moves with its y, sd 2 px; the posterior height does not move at all
    spine = [_rect(0, 0, {'bottom_left': 2.0}), _rect(0, 30, {})]
    row = measure_spine(spine, 'left', options=MeasureOptions(unc_samples=1500)).vertebrae[0]
    assert row['height_anterior_px_unc'] == pytest.approx(2.0, rel=0.06)
    assert row['height_posterior_px_unc'] == 0.0


def test_an_angle_inherits_the_tilt_of_its_uncertain_endplate():
    # flat spine; top_right of the first vertebra has sd 2 px: the superior endplate's tilt has sd 2/40 rad,
    # and the angle (an unsigned angle between lines, here |tilt|) has sd deg(2/40) * sqrt(1 - 2/pi)
    spine = [_rect(0, 0, {'top_right': 2.0}), _rect(0, 30, {})]
    spine[0].label, spine[1].label = 'L1', 'L5'  # lordosis needs its levels named
    image = measure_spine(spine, 'left', options=MeasureOptions(unc_samples=1500)).image
    expected = math.degrees(2 / 40) * math.sqrt(1 - 2 / math.pi)
    assert image['lordosis_deg_unc'] == pytest.approx(expected, rel=0.08)
    assert image['cobb_deg_unc'] == pytest.approx(expected, rel=0.08)


def test_no_uncertainty_columns_without_keypoint_uncertainty_and_none_on_certain_corners():
    spine = [_rect(0, 0), _rect(0, 30)]
    m = measure_spine(spine, 'left')
    assert not any(k.endswith('_unc') for k in m.image) and not any(k.endswith('_unc') for r in m.vertebrae for k in r)
    certain = measure_spine([_rect(0, 0, {}), _rect(0, 30, {})], 'left')
    assert certain.image['cobb_deg_unc'] == 0.0 and certain.vertebrae[0]['height_anterior_px_unc'] == 0.0


def test_the_same_film_gets_the_same_uncertainty_and_columns_sit_next_to_their_numbers():
    spine = [_rect(0, 0, {n: 1.5 for n in NAMES}), _rect(3, 30, {n: 1.5 for n in NAMES})]
    assert measure_spine(spine, 'left').image == measure_spine(spine, 'left').image
    assert IMAGE_COLUMNS[IMAGE_COLUMNS.index('cobb_deg') + 1] == 'cobb_deg_unc'
    assert VERTEBRA_COLUMNS[VERTEBRA_COLUMNS.index('slip_percent') + 1] == 'slip_percent_unc'


def test_unusable_keypoint_uncertainties_are_dropped_on_reading_never_an_exception():
    from spinekey.measurement.inputs import images_from_results
    kps = [0, 0, 0.9, 40, 0, 0.9, 40, 20, 0.9, 0, 20, 0.9]
    base = {'image_id': 1, 'file_name': 'a.png', 'bbox': [0, 0, 40, 20], 'score': 0.9, 'keypoints': kps}
    odd = dict(base, keypoint_unc=[float('nan'), 1.5, 'x', -1])
    short = dict(base, image_id=2, file_name='b.png', keypoint_unc=[1.0])
    a, b = images_from_results([odd, short], 0.0)
    assert a.vertebrae[0].keypoint_unc == {'top_right': 1.5} and b.vertebrae[0].keypoint_unc is None
    m = measure_spine(a.vertebrae + [_rect(0, 30, {})], 'left')
    assert m.image['qc_status'] in ('ok', 'review') and m.vertebrae[0]['height_anterior_px_unc'] == 0.0


def test_when_the_keypoint_noise_is_known_the_angle_uncertainty_is_calibrated_and_ranks_errors():
    """Films with exact truth: corners moved by Gaussian noise of a known, film-specific size, and that size
    given as keypoint_unc. About 68% of true Cobb angles must fall inside +-1 sd, and the uncertainty must
    rank the films with large errors first (the property a QC threshold relies on)."""
    import numpy as np

    from spinekey.evaluation.uncertainty_validation import auroc
    from tests.test_measurement.test_chain import column
    rng = np.random.default_rng(0)
    err, unc = [], []
    for _ in range(150):
        tilt = rng.normal(0, 8, 10)
        exact = MeasureOptions(unc_samples=0)
        truth = measure_spine(column(10, tilt_deg=tilt), 'left', options=exact).image['cobb_deg']
        sigma = rng.choice([0.5, 1.5, 4.0])
        noisy = column(10, tilt_deg=tilt)
        for v in noisy:
            v.points = {n: (x + rng.normal(0, sigma), y + rng.normal(0, sigma)) for n, (x, y) in v.points.items()}
            v.keypoint_unc = {n: sigma for n in v.points}
        image = measure_spine(noisy, 'left', options=MeasureOptions(unc_samples=24)).image
        err.append(abs(image['cobb_deg'] - truth))
        unc.append(image['cobb_deg_unc'])
    err, unc = np.array(err), np.array(unc)
    assert 0.55 <= float((err <= unc).mean()) <= 0.85
    assert auroc(unc, err > 3.0) >= 0.85
