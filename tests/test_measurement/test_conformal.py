"""Split-conformal intervals: the quantile worked by hand, coverage at the level on a large simulated sample,
the adaptive interval narrower when the uncertainty is informative, and refusals that say why."""
import numpy as np
import pytest

from spinekey.measurement.conformal import (UNCALIBRATED, Calibration, add_intervals, conformal_quantile, coverage,
                                            fit)


def test_the_quantile_by_hand():
    scores = list(range(1, 21))  # 1..20
    # n = 20, alpha 0.1: rank ceil(21 * 0.9) = ceil(18.9) = 19 -> the 19th smallest, 19
    assert conformal_quantile(scores, 0.1) == 19
    # alpha 0.2: ceil(21 * 0.8) = ceil(16.8) = 17
    assert conformal_quantile(scores[::-1], 0.2) == 17
    # alpha 0.01: rank ceil(21 * 0.99) = 21 > n: no finite interval can promise 99% from 20 films
    assert conformal_quantile(scores, 0.01) == float('inf')
    with pytest.raises(ValueError, match='at least 20'):
        conformal_quantile(range(19), 0.1)
    with pytest.raises(ValueError, match='alpha'):
        conformal_quantile(scores, 1.0)


def test_coverage_lands_at_the_level_and_the_adaptive_interval_is_narrower():
    rng = np.random.default_rng(0)
    sd = rng.uniform(1, 8, 6000)                 # films the model is unsure of have larger errors
    true = rng.uniform(10, 60, 6000)
    pred = true + rng.normal(0, sd)
    unc = sd * rng.uniform(0.8, 1.25, 6000)      # an informative but imperfect uncertainty
    fitted = fit(pred[:1000], true[:1000], unc[:1000], alpha=0.1)
    adaptive = coverage(pred[1000:], true[1000:], unc[1000:], factor=fitted['factor'])
    plain = coverage(pred[1000:], true[1000:], unc[1000:], width=fitted['width'])
    for c in (adaptive, plain):
        assert 0.88 <= c['coverage'] <= 0.92
    assert adaptive['median_width'] < plain['median_width']


def test_intervals_in_the_rows_or_uncalibrated():
    cal = Calibration.from_config(dict(level=0.9, mode='normalised', factors={'cobb_deg': 2.0}, num_keypoints=4))
    row = {'cobb_deg': 10.0, 'cobb_deg_unc': 3.0, 'lordosis_deg': 40.0, 'lordosis_deg_unc': 2.0,
           'cobb_mt_deg': 12.0}
    add_intervals(row, ['cobb_deg', 'lordosis_deg', 'cobb_mt_deg'], cal)
    assert (row['cobb_deg_lo'], row['cobb_deg_hi']) == (4.0, 16.0)
    assert row['lordosis_deg_lo'] == row['lordosis_deg_hi'] == UNCALIBRATED  # no factor for it: no promise
    assert 'cobb_mt_deg_lo' not in row  # no uncertainty: nothing to say
    small = {'cobb_deg': 2.0, 'cobb_deg_unc': 3.0}
    add_intervals(small, ['cobb_deg'], cal)
    assert small['cobb_deg_lo'] == 0.0  # an angle's range stops at 0
    bare = {'cobb_deg': 10.0, 'cobb_deg_unc': 3.0}
    add_intervals(bare, ['cobb_deg'], None)
    assert bare['cobb_deg_lo'] == bare['cobb_deg_hi'] == UNCALIBRATED
    plain = Calibration.from_config(dict(mode='plain', widths={'cobb_deg': 5.0}))
    add_intervals(row, ['cobb_deg'], plain)
    assert (row['cobb_deg_lo'], row['cobb_deg_hi']) == (5.0, 15.0)


def test_bad_calibrations_say_why():
    assert Calibration.from_config(None) is None
    with pytest.raises(ValueError, match='unknown conformal setting'):
        Calibration.from_config(dict(factor=2.0))
    with pytest.raises(ValueError, match='mode'):
        Calibration.from_config(dict(mode='wide'))
    with pytest.raises(ValueError, match='fitted for K=4 keypoints, this model has K=6'):
        Calibration.from_config(dict(num_keypoints=4)).check_keypoints(6)
    rng = np.random.default_rng(1)
    with pytest.raises(ValueError, match='at least 20'):
        fit(rng.normal(size=19), rng.normal(size=19), np.ones(19))
    nan = np.full(30, np.nan)
    with pytest.raises(ValueError, match='at least 20'):  # NaN uncertainties are not calibration data
        fit(rng.normal(size=30), rng.normal(size=30), nan)


def test_fit_and_judge_columns_by_hand():
    from spinekey.apis.calibration import fit_columns, judge_columns
    unc = np.full(20, 2.0)
    err = 2.0 * np.arange(1, 21)  # |error| / unc = 1..20: the normalised factor is the 19th smallest, 19
    values = {'cobb_deg': (30 + err, np.full(20, 30.0), unc)}
    fitted = fit_columns(values)
    assert fitted['conformal']['factors'] == {'cobb_deg': 19.0} and fitted['conformal']['widths'] == {'cobb_deg': 38.0}
    judged = judge_columns(values, fitted['conformal'])  # on the same 20: 19 inside (the 20th lies at 40 > 38)
    assert judged['per_column']['cobb_deg']['normalised']['coverage'] == pytest.approx(0.95)
    assert judged['pooled_plain'] == pytest.approx(0.95)


def test_the_aasce_recipe_ships_its_factors_and_its_other_test_passes_none():
    """The 7-epoch config carries the factors fitted on its held-out fold 0; a config built on it with another
    model or test pass (14 epochs with a rotation test, 1280 px) must not inherit a promise made for another
    uncertainty: its own factors (the 14-epoch recipe's, fitted on its fold-0 run) or none."""
    import os
    from mmengine.config import Config
    from tests.conftest import ROOT

    def conformal_of(name):
        return Calibration.from_config(Config.fromfile(os.path.join(ROOT, 'configs/spinekey', name)).get('conformal'))
    cal = conformal_of('spinekey_aasce_lite0_cpu.py')
    assert cal.num_keypoints == 4 and set(cal.factors) == {'cobb_pt_deg', 'cobb_mt_deg', 'cobb_tl_deg'}
    cal.check_keypoints(4)
    with pytest.raises(ValueError, match='K=4'):
        cal.check_keypoints(6)
    own = conformal_of('spinekey_aasce_lite0_14e_cpu.py')
    assert set(own.factors) == set(cal.factors) and all(own.factors[c] != cal.factors[c] for c in cal.factors)
    assert conformal_of('spinekey_aasce_lite0_1280_cpu.py') is None
