# Small and fast: trains from scratch on the bundled synthetic set on 2 CPU cores (make demo).
# Only what differs from the R-50 reference: a narrow ResNet-18, thin heads, fewer RoIs, AdamW.
_base_ = './spinekey_cascade-mask-rcnn_r50_fpn_24e.py'

width = 64  # FPN / RoI feature channels
# fixed 2x2 samples per RoIAlign bin: the adaptive default costs a third of a CPU step on large RoIs
roi_layer = dict(sampling_ratio=2)
img_scale = (512, 512)
model = dict(
    backbone=dict(depth=18, base_channels=32, frozen_stages=-1, norm_eval=False),
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

train_pipeline = [dict(t, scale=img_scale) if t['type'] == 'KeypointResize' else t
                  for t in _base_.train_pipeline]
test_pipeline = [dict(t, scale=img_scale) if t['type'] == 'KeypointResize' else t
                 for t in _base_.test_pipeline]
train_dataloader = dict(batch_size=4, num_workers=1, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=4, num_workers=1, dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(batch_size=4, num_workers=1, dataset=dict(pipeline=test_pipeline))
# SpineKeypointMetric alone: it includes box AP and costs a few seconds on the 25 validation images
val_evaluator = dict(_delete_=True, type='SpineKeypointMetric')
test_evaluator = dict(_delete_=True, type='SpineKeypointMetric')

max_epochs = 8
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', begin=0, end=max_epochs, by_epoch=True, eta_min=1e-5),
]
optim_wrapper = dict(optimizer=dict(_delete_=True, type='AdamW', lr=1e-3, weight_decay=0.05),
                     clip_grad=dict(max_norm=10.0))
auto_scale_lr = dict(base_batch_size=4)
default_hooks = dict(checkpoint=dict(interval=max_epochs), logger=dict(interval=10))
