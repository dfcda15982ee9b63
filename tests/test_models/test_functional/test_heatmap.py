import torch

from spinekey.models.functional import (decode_heatmaps, enlarge_boxes, gaussian_targets,
                                        heatmap_coords_to_keypoints, heatmap_softmax_loss,
                                        keypoints_to_heatmap_coords)


def _random_case(n=50, k=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * 300
    wh = torch.rand(n, 2, generator=g) * 80 + 20
    boxes = torch.cat([xy, xy + wh], 1)
    kps = boxes[:, None, :2] + torch.rand(n, k, 2, generator=g) * wh[:, None] * 0.9 + wh[:, None] * 0.05
    return boxes, kps


def test_coordinate_maps_are_inverse():
    boxes, kps = _random_case()
    coords = keypoints_to_heatmap_coords(kps, boxes, (56, 48))
    assert torch.allclose(heatmap_coords_to_keypoints(coords, boxes, (56, 48)), kps, atol=1e-4)
    # a point at the box's top-left corner is half a cell before cell 0's centre
    corner = keypoints_to_heatmap_coords(boxes[:, None, :2], boxes, (56, 48))
    assert torch.allclose(corner, torch.full_like(corner, -0.5))


def test_encode_decode_round_trip_below_half_a_pixel():
    boxes, kps = _random_case(200)
    size = (56, 56)
    coords = keypoints_to_heatmap_coords(kps, boxes, size)
    targets, valid = gaussian_targets(coords, torch.ones(kps.shape[:2], dtype=torch.bool), size, sigma=1.5)
    assert valid.all()
    decoded, scores = decode_heatmaps(targets.clamp(min=1e-12).log(), radius=2)
    err = (heatmap_coords_to_keypoints(decoded, boxes, size) - kps).norm(dim=-1)
    assert err.max() < 0.5, err.max()
    # score = mass within +-2 cells of the peak: about 0.82 for a sigma-1.5 Gaussian (0.905 per axis)
    assert ((scores > 0.75) & (scores < 0.9)).all()


def test_targets_outside_roi_are_invalid_and_invisible_ignored():
    boxes = torch.tensor([[0., 0., 10., 10.]])
    kps = torch.tensor([[[5., 5.], [15., 5.], [5., 5.]]])
    visible = torch.tensor([[True, True, False]])
    targets, valid = gaussian_targets(keypoints_to_heatmap_coords(kps, boxes, (8, 8)), visible, (8, 8), 1.0)
    assert valid.tolist() == [[True, False, False]]
    assert torch.allclose(targets[0, 0].sum(), torch.tensor(1.0))


def test_loss_is_smallest_at_the_target_and_zero_graph_when_empty():
    boxes, kps = _random_case(4, 2)
    size = (28, 28)
    targets, valid = gaussian_targets(keypoints_to_heatmap_coords(kps, boxes, size),
                                      torch.ones(4, 2, dtype=torch.bool), size, 1.5)
    log_t = targets.clamp(min=1e-12).log()
    at_target = heatmap_softmax_loss(log_t, targets, valid)
    shifted = heatmap_softmax_loss(log_t.roll(3, dims=-1), targets, valid)
    assert at_target < shifted
    logits = torch.zeros(4, 2, 28, 28, requires_grad=True)
    empty = heatmap_softmax_loss(logits, targets, torch.zeros(4, 2, dtype=torch.bool))
    assert empty.item() == 0 and empty.requires_grad


def test_enlarge_boxes_keeps_centre():
    boxes = torch.tensor([[10., 20., 30., 60.]])
    assert enlarge_boxes(boxes, 1.5).tolist() == [[5., 10., 35., 70.]]
