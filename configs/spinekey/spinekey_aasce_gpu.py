# AASCE 2019 on GPUs: ResNet-50 FPN at 1536 px long side (vertebrae ~90 x 60 px), 36 epochs, SGD.
# An ImageNet ResNet-50 at checkpoints/resnet50.pth is used when present (tools/download_weights.py);
# without it tools/train.py says so and trains from scratch. Total batch 8 (e.g. 4 GPUs x 2).
_base_ = [
    '../_base_/models/cascade-mask-rcnn_r50_fpn_keypoint.py',
    '../_base_/datasets/aasce.py',
    '../_base_/schedules/schedule_24e.py',
    '../_base_/default_runtime.py',
]

img_scale = (1536, 768)
train_pipeline = [dict(t, scale=img_scale) if t['type'] == 'RandomResize' else t for t in _base_.train_pipeline]
test_pipeline = [dict(t, scale=img_scale) if t['type'] == 'KeypointResize' else t for t in _base_.test_pipeline]
train_dataloader = dict(batch_size=2, num_workers=4, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=2, num_workers=4, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
model = dict(test_cfg=dict(rcnn=dict(max_per_img=30)))
max_epochs = 36
train_cfg = dict(max_epochs=max_epochs, val_interval=4)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[27, 33], gamma=0.1),
]
optim_wrapper = dict(clip_grad=dict(max_norm=35.0))
auto_scale_lr = dict(base_batch_size=8)
default_hooks = dict(checkpoint=dict(interval=4, max_keep_ckpts=3))

# QC thresholds: those of spinekey_aasce_cpu.py (how they were chosen is said there)
qc = dict(min_score=0.435, min_keypoint_score=0.246, size_ratio=1.827, slope_deg=19.38, gap_factor=1.642,
          max_angle_unc_deg=10.25, film_flagged_min=3, extra_levels_ok=2)
# AASCE films are AP: measuring leaves out the lateral-film measures (Genant and Meyerding grades, slip,
# lordosis), whose "fractures" and "slips" on an AP film would be the scoliosis itself (docs/measurements.md)
view = 'ap'
# and of the whole T1-L5 column: measuring adds the three AASCE angles (PT, MT, TL: what make aasce scores and the
# interval factors are fitted for) and checks each film for 17 levels; tools/measure.py --no-aasce leaves them out
aasce_angles = True
