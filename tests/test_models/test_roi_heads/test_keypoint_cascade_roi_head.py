"""Builds the demo model from its real config and checks losses and predictions end to end."""
import os

import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

import spinekey  # noqa: F401
from mmdet.registry import MODELS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def _model(k=4):
    init_default_scope('mmdet')
    cfg = Config.fromfile(os.path.join(ROOT, 'configs/spinekey/spinekey_demo_cpu.py'))
    cfg.model.roi_head.keypoint_head.num_keypoints = k
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def _sample(num_gt, k=4, size=128, scale=1.0):
    ori = int(size / scale)
    s = DetDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(ori, ori), pad_shape=(size, size),
                                    scale_factor=(scale, scale), batch_input_shape=(size, size)))
    boxes = torch.tensor([[20., 10. + 35 * i, 70., 40. + 35 * i] for i in range(num_gt)]).reshape(-1, 4)
    corners = torch.stack([boxes[:, [0, 1]], boxes[:, [2, 1]], boxes[:, [2, 3]], boxes[:, [0, 3]]], 1)
    from mmdet.structures.mask import BitmapMasks
    masks = torch.zeros(num_gt, size, size, dtype=torch.uint8)
    for i, b in enumerate(boxes.int()):
        masks[i, b[1]:b[3], b[0]:b[2]] = 1
    # plain tensors: DetDataPreprocessor unwraps box types before the model sees them
    s.gt_instances = InstanceData(bboxes=boxes, labels=torch.zeros(num_gt, dtype=torch.long),
                                  masks=BitmapMasks(masks.numpy(), size, size),
                                  keypoints=corners[:, :k], keypoints_visible=torch.ones(num_gt, k, dtype=torch.bool))
    return s


def test_loss_with_and_without_ground_truth():
    model = _model()
    model.train()
    imgs = torch.rand(2, 3, 128, 128)
    losses = model.loss(imgs, [_sample(3), _sample(2)])
    assert losses['loss_kpt'].item() > 0
    losses['loss_kpt'].backward()
    assert model.roi_head.keypoint_head.deconv.weight.grad.abs().sum() > 0
    model.zero_grad()
    empty = model.loss(imgs, [_sample(0), _sample(0)])
    assert empty['loss_kpt'].item() == 0
    empty['loss_kpt'].backward()  # graph is kept so that distributed training does not hang
    assert model.roi_head.keypoint_head.deconv.weight.grad is not None


@pytest.mark.parametrize('k', [4, 6])
def test_predict_gives_k_keypoints_per_detection_in_original_pixels(k):
    model = _model(k)
    model.eval()
    # force detections: a classifier that is confident everywhere
    for head in model.roi_head.bbox_head:
        torch.nn.init.constant_(head.fc_cls.bias, 0)
        head.fc_cls.bias.data[0] = 10.0
    sample = _sample(0, k, scale=0.5)
    with torch.no_grad():
        pred = model.predict(torch.rand(1, 3, 128, 128), [sample], rescale=True)[0].pred_instances
    n = len(pred.bboxes)
    assert n > 0
    assert pred.keypoints.shape == (n, k, 2) and pred.keypoint_scores.shape == (n, k)
    assert pred.masks.shape[1:] == (256, 256)  # original size = input / scale_factor
    # keypoints are rescaled like the boxes: they lie within the enlarged original-scale boxes
    b = pred.bboxes
    cx, w = (b[:, 0] + b[:, 2]) / 2, (b[:, 2] - b[:, 0])
    assert ((pred.keypoints[..., 0] - cx[:, None]).abs() <= w[:, None] * 0.6 + 1e-3).all()
