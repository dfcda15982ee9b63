# CPU-sized model: a narrow ResNet-18 (base 32 channels), thin FPN/heads, fewer RoIs. Trains from scratch.
_base_ = './cascade-mask-rcnn_r50_fpn_keypoint.py'

width = 64  # FPN / RoI feature channels
# fixed 2x2 samples per RoIAlign bin: the adaptive default costs a third of a CPU step on large RoIs
roi_layer = dict(sampling_ratio=2)
model = dict(
    backbone=dict(depth=18, base_channels=32, frozen_stages=-1, norm_eval=False, init_cfg=None),
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=width),
    rpn_head=dict(in_channels=width, feat_channels=width),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=width, roi_layer=roi_layer),
        bbox_head=[dict(h, in_channels=width, fc_out_channels=256) for h in _base_.model.roi_head.bbox_head],
        mask_roi_extractor=dict(out_channels=width, roi_layer=roi_layer),
        mask_head=dict(num_convs=2, in_channels=width, conv_out_channels=width),
        keypoint_roi_extractor=dict(out_channels=width, roi_layer=roi_layer),
        keypoint_head=dict(in_channels=width, conv_channels=128, num_convs=4)),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=1000, max_per_img=200),
        rcnn=[dict(r, sampler=dict(r["sampler"], num=64)) for r in _base_.model.train_cfg.rcnn]),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=100), rcnn=dict(max_per_img=40)))
