# AASCE 2019 AP spine radiographs (tall grayscale films, T1-L5 annotated), converted and split by
# `make aasce AASCE_DIR=...` into data/aasce/ (fold{k}_train.json / fold{k}_val.json, images/ -> the dataset).
# Aspect ratio is kept; the long side fits img_scale[0]. Augmentation for AP films: flip with left/right
# name swap, scale jitter, small rotation, brightness/contrast.
dataset_type = 'SpineCocoDataset'
data_root = 'data/aasce/'
fold = 0
metainfo = dict(classes=('vertebra', ))
img_scale = (1024, 512)

train_pipeline = [
    dict(type='LoadSpineImage'),
    dict(type='LoadSpineAnnotations', with_bbox=True, with_mask=True, with_keypoints=True),
    dict(type='RandomResize', resize_type='mmdet.KeypointResize', keep_ratio=True,
         scale=img_scale, ratio_range=(0.85, 1.15)),
    dict(type='KeypointRandomAffine', max_rotate_degree=5.0, scaling_ratio_range=(0.95, 1.05), prob=0.5),
    dict(type='KeypointRandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion', brightness_delta=24, contrast_range=(0.7, 1.3),
         saturation_range=(1.0, 1.0), hue_delta=0),
    dict(type='PackSpineInputs'),
]
# LoadImageFromFile: the name mmdet's DetInferencer looks for; SpineCocoDataset reads DICOM through it
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='KeypointResize', scale=img_scale, keep_ratio=True),
    dict(type='LoadSpineAnnotations', with_bbox=True, with_mask=True, with_keypoints=True),
    dict(type='PackSpineInputs'),
]
dataset = dict(type=dataset_type, data_root=data_root, metainfo=metainfo, data_prefix=dict(img='images/'))
train_dataloader = dict(
    batch_size=2, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True), batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(dataset, ann_file=f'fold{fold}_train.json', filter_cfg=dict(filter_empty_gt=True, min_size=4),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=2, num_workers=2, persistent_workers=False, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(dataset, ann_file=f'fold{fold}_val.json', test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='SpineKeypointMetric')
test_evaluator = val_evaluator
