import pytest
import torch

import spinekey  # noqa: F401
from mmdet.registry import MODELS


def test_forward_shapes_and_loss_decreases_on_a_fixed_batch():
    torch.manual_seed(0)
    head = MODELS.build(dict(type='HeatmapKeypointHead', num_keypoints=4, in_channels=16, conv_channels=32,
                             num_convs=2))
    head.init_weights()
    feats = torch.randn(6, 16, 14, 14)
    boxes = torch.tensor([[0., 0., 56., 56.]]).repeat(6, 1)
    kps = torch.rand(6, 4, 2) * 40 + 8
    visible = torch.ones(6, 4, dtype=torch.bool)
    assert head(feats).shape == (6, 4, 56, 56)
    opt = torch.optim.Adam(head.parameters(), lr=1e-3)
    losses = []
    for _ in range(60):
        loss = head.loss(head(feats), boxes, kps, visible)['loss_kpt']
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    pred = head.predict(head(feats), boxes)
    assert pred.keypoints.shape == (6, 4, 2) and pred.keypoint_scores.shape == (6, 4)
    # after fitting the fixed batch the decoded points are close to the targets
    assert (pred.keypoints - kps).norm(dim=-1).mean() < 3.0


def test_rejects_zero_keypoints():
    with pytest.raises(ValueError, match='num_keypoints'):
        MODELS.build(dict(type='HeatmapKeypointHead', num_keypoints=0))


def test_line_angle_loss_worked_by_hand():
    from spinekey.models.functional import line_angle_loss
    # one vertebra: the top line drawn flat where it truly rises 45 deg, the bottom line exactly right
    pred = torch.tensor([[[0., 0.], [10., 0.], [10., 10.], [0., 10.]]])
    true = torch.tensor([[[0., 0.], [10., -10.], [10., 10.], [0., 10.]]])
    visible = torch.ones(1, 4)
    # smooth-L1 with beta 1 deg: 45 - 0.5 = 44.5 for the top line, 0 for the bottom one; mean 22.25
    assert line_angle_loss(pred, true, visible, [(0, 1), (3, 2)]).item() == pytest.approx(22.25, abs=1e-4)
    # a line whose true corner is not visible does not count: only the bottom line is left
    visible[0, 1] = 0
    assert line_angle_loss(pred, true, visible, [(0, 1), (3, 2)]).item() == pytest.approx(0.0, abs=1e-6)
    # a small angle is in the quadratic part: 0.5 deg -> 0.5 * 0.5^2 / 1
    tilted = torch.tensor([[[0., 0.], [10., -10 * torch.tan(torch.deg2rad(torch.tensor(0.5))).item()]]])
    assert line_angle_loss(tilted, torch.tensor([[[0., 0.], [10., 0.]]]), torch.ones(1, 2),
                           [(0, 1)]).item() == pytest.approx(0.125, abs=1e-4)


def test_tilt_loss_is_added_and_trains_the_lines():
    torch.manual_seed(0)
    cfg = dict(type='HeatmapKeypointHead', num_keypoints=4, in_channels=16, conv_channels=32, num_convs=2)
    plain = MODELS.build(cfg)
    assert set(plain.loss(plain(torch.randn(2, 16, 14, 14)), torch.tensor([[0., 0., 56., 56.]] * 2),
                          torch.rand(2, 4, 2) * 40, torch.ones(2, 4)).keys()) == {'loss_kpt'}
    head = MODELS.build(dict(cfg, tilt_pairs=[(0, 1), (3, 2)], tilt_loss_weight=1.0))
    head.init_weights()
    feats, boxes = torch.randn(6, 16, 14, 14), torch.tensor([[0., 0., 56., 56.]]).repeat(6, 1)
    kps, visible = torch.rand(6, 4, 2) * 40 + 8, torch.ones(6, 4)
    opt = torch.optim.Adam(head.parameters(), lr=1e-3)
    first = None
    for _ in range(60):
        losses = head.loss(head(feats), boxes, kps, visible)
        opt.zero_grad()
        sum(losses.values()).backward()
        opt.step()
        first = first if first is not None else losses['loss_tilt'].item()
    assert losses['loss_tilt'].item() < 0.5 * first  # the gradient reaches the heatmaps through the decoding
    with pytest.raises(ValueError, match='tilt_pairs'):
        MODELS.build(dict(cfg, tilt_pairs=[(0, 4)], tilt_loss_weight=1.0))
