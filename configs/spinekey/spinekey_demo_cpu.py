# Small and fast: trains from scratch on the bundled synthetic set on 2 CPU cores (make demo).
_base_ = [
    '../_base_/models/cascade-mask-rcnn_r18-thin_fpn_keypoint.py',
    '../_base_/datasets/spine_coco_keypoint.py',
    '../_base_/schedules/adamw_cpu.py',
    '../_base_/default_runtime.py',
]

img_scale = (512, 512)
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

max_epochs = 8  # = the schedule base; change param_scheduler with it
default_hooks = dict(checkpoint=dict(interval=max_epochs), logger=dict(interval=10))
