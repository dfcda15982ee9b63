"""Angles from several models: mean and the ensemble's total uncertainty, worked by hand."""
import math

import pytest

from spinekey.measurement.ensemble import combine_angle, combine_image_rows


def test_total_uncertainty_is_the_members_variance_plus_their_spread():
    # 10 +- 3 and 14 +- 4: mean 12; members' variance (9 + 16) / 2 = 12.5; spread (ddof=1) (2^2 + 2^2) / 1 = 8
    value, unc, n = combine_angle([10.0, 14.0], [3.0, 4.0])
    assert (value, n) == (12.0, 2) and unc == pytest.approx(math.sqrt(20.5))
    # three models agreeing exactly: only their own uncertainty remains
    assert combine_angle([7.0, 7.0, 7.0], [1.0, 2.0, 2.0])[1] == pytest.approx(math.sqrt(3.0))


def test_missing_values_and_uncertainties():
    assert combine_angle([None, 5.0, float('nan')], [1.0, 2.0, 3.0]) == (5.0, 2.0, 1)  # one model gave it
    assert combine_angle([None, None], [None, None]) == (None, None, 0)
    assert combine_angle([4.0], [None]) == (4.0, None, 1)  # one model without an uncertainty: none to give
    assert combine_angle([4.0, float('nan')], [None, 2.0]) == (4.0, None, 1)  # a NaN angle's unc is not its own
    value, unc, _ = combine_angle([4.0, 8.0], [None, None])  # only the spread: |4 - 8| / sqrt(2)
    assert value == 6.0 and unc == pytest.approx(4 / math.sqrt(2))


def test_image_rows_keep_the_first_models_other_columns():
    rows = [{'file_name': 'a.png', 'cobb_deg': 20.0, 'cobb_deg_unc': 2.0, 'cobb_upper_level': 'T5', 'note': 'x'},
            {'file_name': 'a.png', 'cobb_deg': 24.0, 'cobb_deg_unc': 2.0, 'cobb_upper_level': 'T6', 'note': ''},
            {'file_name': 'a.png', 'cobb_deg': None, 'note': 'no Cobb'}]
    out = combine_image_rows(rows)
    assert out['cobb_deg'] == 22.0 and out['cobb_deg_unc'] == pytest.approx(math.sqrt(4 + 8), abs=1e-3)
    assert out['cobb_upper_level'] == 'T5' and out['note'] == 'x; angles: mean of 2 of 3 models'
    assert 'lordosis_deg' not in out and rows[0]['cobb_deg'] == 20.0  # absent angles stay absent; input untouched
