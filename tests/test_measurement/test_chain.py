"""The spine chain on hand-built spines: a clean column stays as it is; an extra C7 and a sacrum are
dropped, a missing L2 is filled (and marked), two boxes on one vertebra are merged, a stray box is dropped,
and the order is restored on a rotated film with shuffled detections."""
import numpy as np
import pytest

from spinekey.measurement.chain import build_chain
from spinekey.structures.vertebra import CORNERS, VertebraInput


def column(n=17, tilt_deg=None, top=100.0, height=40.0, gap=12.0, width=60.0, score=0.9):
    """n rectangles down a gently curving column; vertebra i tilted by tilt_deg[i] about its centre."""
    tilt = np.zeros(n) if tilt_deg is None else np.asarray(tilt_deg, float)
    out = []
    for i in range(n):
        cx, cy = 300 + 25 * np.sin(i / 5), top + i * (height + gap)
        half = np.array([[-width / 2, -height / 2], [width / 2, -height / 2], [width / 2, height / 2],
                         [-width / 2, height / 2]])
        a = np.radians(tilt[i])
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        pts = half @ rot.T + [cx, cy]
        out.append(VertebraInput(dict(zip(CORNERS, map(tuple, pts))), score))
    return out


def sources(chain):
    return [lk.source for lk in chain.links]


def test_a_clean_column_is_kept_whole():
    spine = column()
    chain = build_chain(spine)
    assert sources(chain) == list(range(17)) and not chain.dropped and not chain.notes


def test_extra_c7_and_sacrum_are_dropped():
    spine = column(19)
    spine[0].score, spine[-1].score = 0.5, 0.6  # the model is less sure of C7 and S1
    chain = build_chain(spine)
    assert sources(chain) == list(range(1, 18))
    assert chain.dropped == {0: 'outside the 17 levels of the chain', 18: 'outside the 17 levels of the chain'}


def test_a_missing_l2_is_filled_between_its_neighbours_and_marked():
    full = column()
    spine = full[:13] + full[14:]  # L2 is the 14th of T1-L5
    chain = build_chain(spine)
    assert len(chain.links) == 17 and [lk.filled for lk in chain.links].count(True) == 1
    filled = chain.links[13]
    assert filled.filled and filled.source is None
    expected = {n: (np.asarray(full[12].points[n]) + np.asarray(full[14].points[n])) / 2 for n in CORNERS}
    for n in CORNERS:
        np.testing.assert_allclose(filled.vertebra.points[n], expected[n], atol=1e-9)
    assert '1 missed level(s) filled from their neighbours' in chain.notes


def test_two_boxes_on_one_vertebra_are_merged_keeping_the_better():
    spine = column()
    twin = VertebraInput({n: (x + 2, y + 1) for n, (x, y) in spine[5].points.items()}, 0.95)
    chain = build_chain(spine + [twin])
    assert len(chain.links) == 17 and chain.links[5].source == 17
    assert chain.dropped == {5: 'duplicate of the detection #18 on the same vertebra'}


def test_a_stray_box_off_the_column_is_dropped():
    stray = VertebraInput({n: (x + 400, y) for n, (x, y) in column()[8].points.items()}, 0.99)
    chain = build_chain(column() + [stray])
    assert sources(chain) == list(range(17)) and chain.dropped == {17: 'off the column (stray detection)'}


@pytest.mark.parametrize('angle', [25.0, -30.0])
def test_order_is_restored_on_a_rotated_film_with_shuffled_detections(angle):
    spine = column(tilt_deg=np.linspace(-10, 10, 17))
    a = np.radians(angle)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    for v in spine:
        v.points = {n: tuple((np.asarray(p) - [300, 500]) @ rot.T + [300, 500]) for n, p in v.points.items()}
    shuffled = list(np.random.default_rng(0).permutation(17))
    chain = build_chain([spine[i] for i in shuffled])
    assert [shuffled[s] for s in sources(chain)] == list(range(17))


def test_fewer_levels_than_expected_are_said():
    chain = build_chain(column(12))
    assert len(chain.links) == 12 and 'only 12 of 17 levels placed' in chain.notes


def test_aasce_angles_through_the_chain_equal_those_of_the_clean_column():
    """A 19-detection film (C7, sacrum, a duplicate, L2 missed) measured with chain=True gives the angles the
    AASCE procedure gives on the clean 17 vertebrae (L2 interpolated: tilts here vary linearly, so exact)."""
    from spinekey.measurement.aasce import aasce_cobb_angles
    from spinekey.measurement.options import MeasureOptions
    from spinekey.measurement.spine import measure_spine
    tilts = np.concatenate([np.linspace(-12, 14, 9), np.linspace(14, -8, 10)])
    dirty = column(19, tilt_deg=tilts)
    clean = dirty[1:18]
    dirty[0].score, dirty[-1].score = 0.4, 0.5
    # a second, worse detection of T5 whose corners are tilted 20 deg more: the plain window keeps it
    centre = dirty[4].centre()
    a = np.radians(20)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    twin = VertebraInput({n: tuple((np.asarray(p) - centre) @ rot.T + centre) for n, p in dirty[4].points.items()},
                         0.3)
    detections = dirty[:14] + dirty[15:] + [twin]  # dirty[14] is L2
    corners = np.array([[v.points[n] for n in CORNERS] for v in clean], float)
    corners[13] = (corners[12] + corners[14]) / 2  # what filling L2 gives
    expected, _ = aasce_cobb_angles(corners, 1100.0)
    m = measure_spine(detections, 'left', image_height=1100.0, options=MeasureOptions(aasce=True, chain=True))
    got = [m.image['cobb_mt_deg'], m.image['cobb_pt_deg'], m.image['cobb_tl_deg']]
    np.testing.assert_allclose(got, expected, atol=1e-3)
    plain = measure_spine(detections, 'left', image_height=1100.0, options=MeasureOptions(aasce=True))
    assert [plain.image['cobb_mt_deg'], plain.image['cobb_pt_deg'], plain.image['cobb_tl_deg']] != \
        pytest.approx(list(expected), abs=1e-3)  # the 17 best-scored in a row are not the right 17
