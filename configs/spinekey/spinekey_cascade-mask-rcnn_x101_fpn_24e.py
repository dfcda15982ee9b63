# The reference model: ResNeXt-101 64x4d, 24 epochs, lr 0.02, batch 8 train / 4 val, one class.
# ImageNet weights come from checkpoints/resnext101_64x4d.pth (tools/download_weights.py); when that file
# is missing tools/train.py says so and trains the backbone from scratch.
_base_ = './spinekey_cascade-mask-rcnn_r50_fpn_24e.py'

model = dict(
    backbone=dict(type='ResNeXt', depth=101, groups=64, base_width=4,
                  init_cfg=dict(_delete_=True, type='Pretrained',
                                checkpoint='checkpoints/resnext101_64x4d.pth')))
