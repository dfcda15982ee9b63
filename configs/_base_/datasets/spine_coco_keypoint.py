# COCO vertebra dataset with keypoints. Point data_root at your folder; ann files are relative to it.
dataset_type = 'SpineCocoDataset'
data_root = 'data/synthetic/'
metainfo = dict(classes=('vertebra', ))
backend_args = None
img_scale = (1333, 800)

train_pipeline = [
    dict(type='LoadSpineImage', backend_args=backend_args),
    dict(type='LoadSpineAnnotations', with_bbox=True, with_mask=True, with_keypoints=True),
    dict(type='KeypointResize', scale=img_scale, keep_ratio=True),
    dict(type='KeypointRandomFlip', prob=0.5),
    dict(type='PackSpineInputs'),
]
# stronger augmentation for the reference configs (the quick CPU demo keeps the light pipeline above):
# crop up to 10%, rotation +-5 deg and scale 0.9-1.1, blur/sharpen/exposure; insert after the annotations
augment = [
    dict(type='KeypointRandomCrop', max_crop=0.1, prob=0.5),
    dict(type='KeypointRandomAffine', max_rotate_degree=5.0, scaling_ratio_range=(0.9, 1.1), prob=0.5),
    dict(type='RadiographPhotometric', prob=0.3),
]
# LoadImageFromFile: the name mmdet's DetInferencer looks for; SpineCocoDataset reads DICOM through it
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='KeypointResize', scale=img_scale, keep_ratio=True),
    # annotations are loaded after the resize so that evaluation sees them in original pixels
    dict(type='LoadSpineAnnotations', with_bbox=True, with_mask=True, with_keypoints=True),
    dict(type='PackSpineInputs'),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(type=dataset_type, data_root=data_root, metainfo=metainfo,
                 ann_file='det_train.json', data_prefix=dict(img=''),
                 filter_cfg=dict(filter_empty_gt=True, min_size=4), pipeline=train_pipeline,
                 backend_args=backend_args))
val_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, metainfo=metainfo,
                 ann_file='det_val.json', data_prefix=dict(img=''), test_mode=True,
                 pipeline=test_pipeline, backend_args=backend_args))
test_dataloader = dict(val_dataloader, dataset=dict(val_dataloader['dataset'], ann_file='det_test.json'))

# ann_file=None: tools/train.py and tools/test.py take it from the dataloader's dataset (data_root + ann_file),
# so pointing the dataset at your data is the one override; set it here only to evaluate against another file
val_evaluator = [dict(type='CocoMetric', ann_file=None, metric=['bbox', 'segm'], format_only=False,
                      backend_args=backend_args),
                 dict(type='SpineKeypointMetric')]
test_evaluator = [dict(type='CocoMetric', ann_file=None, metric=['bbox', 'segm'], format_only=False,
                       backend_args=backend_args),
                  dict(type='SpineKeypointMetric')]
