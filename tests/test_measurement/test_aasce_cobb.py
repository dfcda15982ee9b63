"""AASCE Cobb procedure and SMAPE on hand-built spines, and on the real angles.csv when the data is here."""
import math
import os

import numpy as np
import pytest

from spinekey.measurement.aasce import aasce_cobb_angles, is_s_shaped, endplate_midpoints, smape

AASCE_DIR = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'shared', 'datasets', 'aasce2019')


def spine(tilts_deg, xs=None, w=60.0, h=40.0, gap=60.0):
    """[N, 4, 2] SpineKey-order corners of rectangles tilted by ``tilts_deg`` centred at (xs, 100 + gap*i)."""
    out = []
    for i, t in enumerate(tilts_deg):
        c = np.array([200.0 if xs is None else xs[i], 100.0 + gap * i])
        r = math.radians(t)
        u = np.array([math.cos(r), math.sin(r)])   # along the endplates, left to right
        d = np.array([-math.sin(r), math.cos(r)])  # down the vertebra
        out.append([c - u * w / 2 - d * h / 2, c + u * w / 2 - d * h / 2, c + u * w / 2 + d * h / 2,
                    c - u * w / 2 + d * h / 2])
    return np.array(out)


def test_single_curve_on_a_straight_column():
    tilts = np.linspace(-10, 20, 17)
    (main, second, third), ends = aasce_cobb_angles(spine(tilts), 2000)
    assert main == pytest.approx(30.0) and ends == (0, 16)
    assert second == pytest.approx(0.0, abs=1e-6) and third == pytest.approx(0.0, abs=1e-6)


S_TILTS = [0, 4, 8, 12, 16, 20, 14, 8, 2, -6, -15, -25, -20, -15, -10, -5, 0]
S_XS = [200 + 40 * math.sin(2 * math.pi * i / 16) for i in range(17)]


def test_s_curve_with_main_curve_high_on_the_film():
    corners = spine(S_TILTS, S_XS)
    assert is_s_shaped(endplate_midpoints(corners))
    (main, second, third), ends = aasce_cobb_angles(corners, 2000)
    assert ends == (5, 11)
    assert (main, second, third) == pytest.approx((45.0, 20.0, 25.0))


def test_s_curve_with_main_curve_low_on_the_film_looks_above_it_twice():
    # same spine on a film only 1000 px tall: the main curve is now in the lower half
    (main, second, third), _ = aasce_cobb_angles(spine(S_TILTS, S_XS), 1000)
    assert (main, second, third) == pytest.approx((45.0, 20.0, 0.0), abs=1e-6)


def test_mirrored_spine_gives_the_same_angles():
    corners = spine(S_TILTS, S_XS)
    mirrored = corners.copy()
    mirrored[..., 0] = 1000 - mirrored[..., 0]
    mirrored = mirrored[:, [1, 0, 3, 2]]  # left and right swap names in a mirror
    assert aasce_cobb_angles(mirrored, 2000)[0] == pytest.approx(aasce_cobb_angles(corners, 2000)[0])


def test_smape_hand_worked():
    # image 1: |10-12| + |20-20| + |5-3| = 4 over 70 -> 5.714%; image 2: exact -> 0%
    assert smape([[10, 20, 5], [1, 2, 3]], [[12, 20, 3], [1, 2, 3]]) == pytest.approx(100 * (4 / 70) / 2)
    assert smape([[0, 0, 0]], [[0, 0, 0]]) == 0.0
    with pytest.raises(ValueError):
        smape([[1, 2, 3]], [[1, 2]])


@pytest.mark.skipif(not os.path.isdir(AASCE_DIR), reason='AASCE 2019 data not at ../shared/datasets/aasce2019')
def test_reproduces_every_row_of_the_real_angles_csv():
    from spinekey.converters.aasce import read_aasce
    records = read_aasce(AASCE_DIR)
    assert len(records) == 481 and not any(r.problems for r in records)
    diffs = np.array([np.abs(np.array(aasce_cobb_angles(r.corners(), r.height)[0]) - r.angles) for r in records])
    assert diffs.mean(axis=0).max() < 0.01
    assert diffs.max() < 0.01
