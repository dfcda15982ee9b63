# The AASCE refiner trained twice as long: 10 epochs instead of 5 (one change, for the ablation in docs/aasce.md).
# The 5-epoch refiner's training loss was still falling when its cosine schedule ended (mean loss_kpt per epoch
# 6.8, 5.5, 5.1, 4.8, 4.6 patch px on fold 1), and the budget for the refiner alone is 45 minutes
# (5 epochs took 18 minutes on idle cores). Train: python tools/train.py THIS --work-dir work_dirs/refiner10_fold0
#   --cfg-options fold=1 train_dataloader.dataset.ann_file=fold1_train.json   (another fold)
_base_ = './refiner_lite0-integral_p192_5e_aasce_cpu.py'
max_epochs = 10
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', begin=0, end=max_epochs, by_epoch=True, eta_min=1e-5),
]
