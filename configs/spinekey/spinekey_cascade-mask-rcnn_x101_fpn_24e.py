# The reference model: ResNeXt-101 64x4d, 24 epochs, lr 0.02, batch 8 train / 4 val, one class.
# ImageNet weights are used when checkpoints/resnext101_64x4d.pth exists (tools/download_weights.py).
import os.path as osp

_base_ = './spinekey_cascade-mask-rcnn_r50_fpn_24e.py'

backbone_weights = 'checkpoints/resnext101_64x4d.pth'
model = dict(
    backbone=dict(type='ResNeXt', depth=101, groups=64, base_width=4,
                  init_cfg=dict(type='Pretrained', checkpoint=backbone_weights)
                  if osp.isfile(backbone_weights) else None))
