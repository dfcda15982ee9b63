# The refiner on AASCE 2019 on a 2-core CPU: 5 epochs over the fold's training films (each epoch ~6,150 vertebra
# patches of 192 px). Train: python tools/train.py configs/refiner/refiner_lite0-integral_p192_5e_aasce_cpu.py
#   --cfg-options fold=1 train_dataloader.dataset.ann_file=fold1_train.json   (another fold)
# Apply to stage 1's saved predictions: python tools/refine.py --results R --images-dir D --config THIS --checkpoint C
_base_ = ['../_base_/models/vertebra_refiner_lite0.py', '../_base_/datasets/aasce_patches.py',
          '../_base_/default_runtime.py']
max_epochs = 5
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4),
                     clip_grad=dict(max_norm=10.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', begin=0, end=max_epochs, by_epoch=True, eta_min=1e-5),
]
default_hooks = dict(checkpoint=dict(save_best=None, rule=None), logger=dict(interval=20))
auto_scale_lr = dict(enable=False, base_batch_size=2)
