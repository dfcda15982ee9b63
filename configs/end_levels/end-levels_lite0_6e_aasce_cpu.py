# The end-level classifier on AASCE 2019 on a 2-core CPU: 6 epochs over the fold's training films (each epoch
# about 2,700 patches of 128 px: T1-T3, L3-L5 and the levels beyond both ends). Trains from the annotations alone.
# Train: python tools/train.py configs/end_levels/end-levels_lite0_6e_aasce_cpu.py --work-dir work_dirs/end_levels_fold1
#   --cfg-options train_dataloader.dataset.ann_file=fold1_train.json   (another fold)
# Use: python tools/measure.py ... --end-levels-config THIS
#   --end-levels-checkpoint work_dirs/end_levels_fold1/epoch_6.pth
_base_ = ['../_base_/models/end_level_classifier_lite0.py', '../_base_/datasets/aasce_end_patches.py',
          '../_base_/default_runtime.py']
max_epochs = 6
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=5e-4, weight_decay=1e-4),
                     clip_grad=dict(max_norm=10.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', begin=0, end=max_epochs, by_epoch=True, eta_min=1e-5),
]
default_hooks = dict(checkpoint=dict(interval=2, save_best=None, rule=None), logger=dict(interval=20))
auto_scale_lr = dict(enable=False, base_batch_size=4)
