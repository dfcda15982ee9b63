"""The shared vertebra records and their geometry, by hand: order along a turned column, boxes, IoU, the best
window of levels, corner naming, and level names from one end (what measurement, the chains and QC use)."""
import math

import numpy as np
import pytest

from spinekey.structures.levels import LevelOverflow, assign_levels
from spinekey.structures.vertebra import (VertebraInput, best_window, box_iou, box_iou_matrix, centre_steps,
                                          name_quad_corners, order_vertebrae, quad_height, vertebra_box,
                                          vertebra_quad)


def _square(x, y, side=20.0):
    return VertebraInput({'top_left': (x, y), 'top_right': (x + side, y), 'bottom_right': (x + side, y + side),
                          'bottom_left': (x, y + side)})


def test_order_along_a_rotated_spine_is_not_by_y():
    # a film rotated so the column lies 20 degrees off the x axis, bodies zig-zagging 7.5 px across it:
    # sorting by y would put body 1 above body 0, the principal axis keeps the anatomical order
    a, zig = math.radians(20), [7.5, -7.5, 7.5, -7.5, 7.5]
    cells = [_square(100 + 30 * i * math.cos(a) - zig[i] * math.sin(a),
                     100 + 30 * i * math.sin(a) + zig[i] * math.cos(a)) for i in range(5)]
    assert np.argsort([c.points['top_left'][1] for c in cells])[0] == 1  # y alone gets it wrong
    shuffled = [cells[i] for i in (3, 0, 4, 1, 2)]
    assert order_vertebrae(shuffled) == [1, 3, 4, 0, 2]
    # a vertebra with neither corners nor a box cannot be placed and is left out
    assert order_vertebrae([VertebraInput({}), _square(0, 40), _square(0, 0)]) == [2, 1]


def test_boxes_quads_and_heights_by_hand():
    v = VertebraInput({'top_left': (0, 0), 'top_right': (10, 2), 'bottom_right': (12, 8), 'bottom_left': (1, 6)})
    assert vertebra_box(v).tolist() == [0, 0, 12, 8]
    # sides (0,0)-(1,6): sqrt(37); (10,2)-(12,8): sqrt(40)
    assert quad_height(vertebra_quad(v)) == pytest.approx((math.sqrt(37) + math.sqrt(40)) / 2)
    partial = VertebraInput({'top_left': (0, 0)}, bbox=[5, 6, 10, 20])
    assert vertebra_quad(partial) is None and vertebra_box(partial).tolist() == [5, 6, 15, 26]
    assert vertebra_box(VertebraInput({})) is None


def test_iou_by_hand():
    # overlap 5 x 10 = 50 of 100 + 100 - 50 = 150
    assert box_iou(np.array([0, 0, 10, 10]), np.array([5, 0, 15, 10])) == pytest.approx(1 / 3)
    assert box_iou(np.array([0, 0, 0, 0]), np.array([0, 0, 0, 0])) == 0.0
    m = box_iou_matrix([[0, 0, 10, 10], [20, 20, 30, 30]], [[5, 0, 15, 10], [0, 0, 10, 10], [100, 100, 101, 101]])
    assert m.shape == (2, 3) and np.allclose(m, [[1 / 3, 1, 0], [0, 0, 0]])


def test_centre_steps_and_best_window():
    column = [_square(0, 0), _square(0, 30), _square(0, 90)]
    assert centre_steps(column).tolist() == [30, 60]
    assert centre_steps(column[:2]) is None and centre_steps(column + [VertebraInput({})]) is None
    # sums of 2 consecutive: 0.5+0.9, 0.9+0.8, 0.8+0.1 -> the second pair
    assert best_window([0.5, 0.9, 0.8, 0.1], 2) == (1, 3)
    assert best_window([0.1, None, None], 2) == (1, 3)  # an unscored item counts as 1
    assert best_window([0.3], 17) == (0, 1)


def test_corner_names_by_position_and_levels_from_one_end():
    named = name_quad_corners([[10, 12], [0, 0], [10, 0], [0, 12]])
    assert {k: v.tolist() for k, v in named.items()} == {'top_left': [0, 0], 'top_right': [10, 0],
                                                         'bottom_right': [10, 12], 'bottom_left': [0, 12]}
    assert assign_levels(3, 'L5') == ['L3', 'L4', 'L5'] and assign_levels(2, 'S1') == ['L5', 'S1']
    with pytest.raises(ValueError, match='unknown level'):
        assign_levels(2, 'X9')
    with pytest.raises(LevelOverflow, match='3 vertebrae cannot end at C2'):
        assign_levels(3, 'C2')


def test_films_are_found_by_their_name_else_their_base_name():
    from spinekey.structures.vertebra import ImageInput, film_named, films_by_name
    nested, bare, other = ImageInput(1, 'a/1.png'), ImageInput(2, '1.png'), ImageInput(3, 'b/2.png')
    by_name = films_by_name([nested, bare, other])
    assert film_named(by_name, '1.png') is bare          # a film's own name wins over another's base name
    assert film_named(by_name, 'a/1.png') is nested
    assert film_named(by_name, 'c/2.png') is other       # else the base name
    assert film_named(by_name, '/abs/2.png') is other and film_named(by_name, '3.png') is None
    assert film_named(films_by_name([nested, ImageInput(4, 'z/1.png')]), 'q/1.png') is nested  # first keeps it
