# The refiner of `make demo` (scripts/run_demo.sh): stage 2 on the synthetic films, a few minutes on 2 CPU cores.
# A synthetic vertebra is 30-50 px wide at the film's native 384 x 512 (which stage 1 already sees whole), so the
# patch is 64 px (1.5 widths: about native) and its heatmap 16 x 16; what it shows is the machinery end to end.
# Train: python tools/train.py THIS --work-dir work_dirs/demo_refiner
#   (--cfg-options train_dataloader.dataset.data_root=OTHER/ for a synthetic set elsewhere)
_base_ = ['../_base_/models/vertebra_refiner_lite0.py', '../_base_/datasets/synthetic_patches.py',
          '../_base_/default_runtime.py']
model = dict(patch_size=64, heatmap_size=16)
refine = dict(patch_size=64, context=1.5, oriented=True, passes=1)
max_epochs = 4
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4),
                     clip_grad=dict(max_norm=10.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', begin=0, end=max_epochs, by_epoch=True, eta_min=1e-5),
]
default_hooks = dict(checkpoint=dict(save_best=None, rule=None), logger=dict(interval=20))
auto_scale_lr = dict(enable=False, base_batch_size=4)
