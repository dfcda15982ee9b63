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
