"""Values rounded to what their uncertainty supports, worked by hand."""
import math

import pytest

from spinekey.visualization.numbers import decimals_for, with_uncertainty


@pytest.mark.parametrize('unc, decimals', [(14.56, 0), (2.3, 0), (0.56, 1), (0.14, 2), (0.014, 3), (1.0, 1),
                                           (0.99, 1), (35.0, -1)])
def test_decimals_two_figures_when_the_first_digit_is_one_else_one(unc, decimals):
    assert decimals_for(unc) == decimals


def test_a_value_is_rounded_to_the_place_of_its_uncertainty():
    assert with_uncertainty(13.38, 14.56, 'deg') == '13 +-15 deg'
    assert with_uncertainty(44.03, 13.7, 'deg') == '44 +-14 deg'
    assert with_uncertainty(12.345, 0.56, 'mm') == '12.3 +-0.6 mm'
    assert with_uncertainty(12.345, 0.14) == '12.35 +-0.14'
    assert with_uncertainty(44.0, None, 'deg') == '44.0 deg'
    assert with_uncertainty(None, 3.0) == '' and with_uncertainty(math.nan, 3.0) == ''
    assert with_uncertainty(44.0, 35.0, 'deg') == '44 +-35 deg'  # tens: shown whole, not as 40 +-40


def test_a_calibrated_range_reads_as_value_and_bounds():
    from spinekey.visualization.numbers import with_range
    assert with_range(32.26, 3.4, 27.1, 37.9, 'deg') == '32 deg (27-38)'
    assert with_range(12.345, 0.56, 11.2, 13.41, 'mm') == '12.3 mm (11.2-13.4)'
    assert with_range(32.26, 3.4, 'uncalibrated', 'uncalibrated', 'deg') == '32 +-3 deg'  # no promise, no range
