_base_ = [
    '../_base_/models/cascade-mask-rcnn_r50_fpn_keypoint.py',
    '../_base_/datasets/spine_coco_keypoint.py',
    '../_base_/schedules/schedule_24e.py',
    '../_base_/default_runtime.py',
]

train_pipeline = _base_.train_pipeline[:2] + _base_.augment + _base_.train_pipeline[2:]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
