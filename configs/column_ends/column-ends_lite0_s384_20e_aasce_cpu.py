# The column-ends locator on AASCE 2019 on a 2-core CPU: where T1 and L5 are on the whole film, so that the
# detections forming the column could be chosen by level rather than by count (measured, not used: docs/aasce.md,
# "The column's ends from the whole film"). The network is the refiner's (VertebraRefiner: ImageNet
# EfficientNet-Lite0, soft-argmax heatmaps at stride 4, a learned Laplace scale per coordinate) on a 384 px canvas
# holding the whole film, one keypoint per end level (K from the dataset's levels). 20 epochs: 11 min on 2 cores.
# Train: python tools/train.py configs/column_ends/column-ends_lite0_s384_20e_aasce_cpu.py --work-dir W
#   --cfg-options train_dataloader.dataset.ann_file=fold1_train.json   (another fold)
# Check: python tools/check_column_ends.py --config THIS --checkpoint W/epoch_20.pth --ann-file ... --images-dir ...
_base_ = ['../_base_/models/vertebra_refiner_lite0.py', '../_base_/datasets/aasce_column_ends.py',
          '../_base_/default_runtime.py']
model = dict(patch_size=384, heatmap_size=96, num_keypoints=2)
refine = None  # not a refiner: no vertebra patches
max_epochs = 20
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4),
                     clip_grad=dict(max_norm=10.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', begin=0, end=max_epochs, by_epoch=True, eta_min=1e-5),
]
default_hooks = dict(checkpoint=dict(interval=5, save_best=None, rule=None), logger=dict(interval=20))
auto_scale_lr = dict(enable=False, base_batch_size=4)
