"""The heatmap's spread about a decoded keypoint, checked against hand-computed distributions."""
import math

import torch

from spinekey.models.functional import heatmap_spread, spread_to_pixels


def _logits_of(prob):
    return torch.log(prob.clamp(min=1e-30))[None, None]


def test_a_single_cell_has_no_spread_and_two_modes_have_half_their_distance():
    one = torch.zeros(5, 5)
    one[2, 3] = 1.0
    assert heatmap_spread(_logits_of(one), torch.tensor([[[3.0, 2.0]]])).abs().max() < 1e-6
    two = torch.zeros(5, 5)
    two[2, 0] = two[2, 4] = 0.5  # mass split between x=0 and x=4, decoded at x=2: 2 cells off either way
    spread = heatmap_spread(_logits_of(two), torch.tensor([[[2.0, 2.0]]]))[0, 0]
    assert abs(spread[0] - 2.0) < 1e-5 and abs(spread[1]) < 1e-5


def test_spread_about_a_point_off_the_mass_grows_with_the_offset():
    one = torch.zeros(5, 5)
    one[1, 1] = 1.0
    spread = heatmap_spread(_logits_of(one), torch.tensor([[[4.0, 1.0]]]))[0, 0]
    assert abs(spread[0] - 3.0) < 1e-5  # sqrt(E[(x - 4)^2]) with all mass at x = 1


def test_spread_in_pixels_scales_each_axis_by_its_cell_size():
    spread = torch.tensor([[[1.0, 2.0]]])           # cells
    boxes = torch.tensor([[0.0, 0.0, 40.0, 20.0]])  # a 10x10 heatmap: cells 4 px wide, 2 px tall
    px = spread_to_pixels(spread, boxes, (10, 10))[0, 0]
    assert abs(px - math.sqrt((4.0 ** 2 + 4.0 ** 2) / 2)) < 1e-5
