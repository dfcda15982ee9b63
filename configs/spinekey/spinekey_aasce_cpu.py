# AASCE 2019 AP spine radiographs (tall grayscale films, 17 vertebrae T1-L5) on a 2-core CPU, from scratch.
# Data: `make aasce AASCE_DIR=/path/to/aasce2019` converts and splits into data/aasce/ (see README).
# Keeps the aspect ratio and fits the long side into 1024 px: a vertebra is then ~60 x 40 px, enough to
# place corners to a few pixels, and a step stays near 1 s per image on 2 cores.
_base_ = './spinekey_demo_cpu.py'

data_root = 'data/aasce/'
fold = 0
img_scale = (1024, 512)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadSpineAnnotations', with_bbox=True, with_mask=True, with_keypoints=True),
    dict(type='RandomResize', resize_type='mmdet.KeypointResize', keep_ratio=True,
         scale=img_scale, ratio_range=(0.85, 1.15)),
    dict(type='KeypointRandomAffine', max_rotate_degree=5.0, scaling_ratio_range=(0.95, 1.05), prob=0.5),
    dict(type='KeypointRandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion', brightness_delta=24, contrast_range=(0.7, 1.3),
         saturation_range=(1.0, 1.0), hue_delta=0),
    dict(type='PackSpineInputs'),
]
test_pipeline = [dict(t, scale=img_scale) if t['type'] == 'KeypointResize' else t
                 for t in _base_.test_pipeline]
dataset = dict(data_root=data_root, data_prefix=dict(img='images/'))
train_dataloader = dict(batch_size=2, num_workers=2, persistent_workers=True,
                        dataset=dict(dataset, ann_file=f'fold{fold}_train.json', pipeline=train_pipeline))
val_dataloader = dict(batch_size=2, num_workers=2,
                      dataset=dict(dataset, ann_file=f'fold{fold}_val.json', pipeline=test_pipeline))
test_dataloader = val_dataloader
model = dict(test_cfg=dict(rcnn=dict(max_per_img=30)))

max_epochs = 10
train_cfg = dict(max_epochs=max_epochs, val_interval=5)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=200),
    dict(type='CosineAnnealingLR', begin=0, end=max_epochs, by_epoch=True, eta_min=1e-5),
]
auto_scale_lr = dict(base_batch_size=2)
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=2), logger=dict(interval=20))
