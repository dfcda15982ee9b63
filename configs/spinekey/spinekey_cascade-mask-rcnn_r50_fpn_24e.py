_base_ = [
    '../_base_/models/cascade-mask-rcnn_r50_fpn_keypoint.py',
    '../_base_/datasets/spine_coco_keypoint.py',
    '../_base_/schedules/schedule_24e.py',
    '../_base_/default_runtime.py',
]
