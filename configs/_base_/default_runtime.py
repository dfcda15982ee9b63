# Runtime shared by every SpineKey config: registries, hooks, logging, atomic checkpoints.
default_scope = 'mmdet'
custom_imports = dict(imports=['spinekey'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # atomic_local: a kill mid-save leaves the previous checkpoint, never a truncated one
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3, save_best='spine/PCK@0.1',
                    rule='greater', backend_args=dict(backend='atomic_local')),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='DetVisualizationHook'))

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))

vis_backends = [dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')]
visualizer = dict(type='SpineLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(type='LogProcessor', window_size=20, by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False

# Test time: flip_test also runs each film mirrored and averages the keypoints (spinekey.apis.flip_test; twice
# the inference time). inference.sh --flip_test / infer.py --flip-test turn it on for one run.
flip_test = False
# rotate_test = DEG also runs each film turned by +DEG and -DEG degrees and averages the keypoints
# (spinekey.apis.rotate_test; three times the inference time). inference.sh --rotate_test / infer.py --rotate-test.
rotate_test = 0.0
# QC thresholds (spinekey.measurement.qc.QCThresholds): a vertebra or film that crosses one is marked `review`.
# docs/measurements.md says how each default was chosen; tools/measure.py --qc-config CONFIG reads them.
qc = dict(min_score=0.5, min_keypoint_score=0.3, size_ratio=1.5, slope_deg=10.0, duplicate_iou=0.5,
          gap_factor=1.6, film_min_score=0.6, max_angle_unc_deg=3.0, film_flagged_min=1, extra_levels_ok=0,
          max_shrink=4.0, end_level_choice=0, min_bottom_width_ratio=0)
