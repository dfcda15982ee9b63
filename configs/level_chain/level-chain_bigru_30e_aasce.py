# The level-chain model (spinekey.models.level_chain): a bidirectional GRU over a film's detections that names
# each one's level (C7, T1..L5, S1) or "not a vertebra". Trained on the fold's annotated columns with simulated
# detector errors (SimulatedChainDataset): no detector run, about 10 minutes on one CPU core (OMP_NUM_THREADS=1;
# more threads only slow a model this small).
# python tools/train.py configs/level_chain/level-chain_bigru_30e_aasce.py --work-dir work_dirs/level_chain_fold0
#   --cfg-options train_dataloader.dataset.ann_file=fold0_train.json
# Add train_dataloader.dataset.detections=<stage 1's results.json on the same training films> to train half the
# items on what the detector really found there (p_detections; docs/aasce.md, the synthetic split's rows).
_base_ = ['../_base_/default_runtime.py']
model = dict(type='LevelChainModel', hidden=64)
train_dataloader = dict(
    batch_size=8, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type='SimulatedChainDataset', data_root='data/aasce/', ann_file='fold0_train.json', repeats=4,
                 p_miss=0.02, p_miss_end=0.2, p_extra=0.1, p_duplicate=0.05, p_stray=0.05))
val_dataloader = val_cfg = val_evaluator = None
test_dataloader = test_cfg = test_evaluator = None
max_epochs = 30
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=3e-3, weight_decay=1e-4),
                     clip_grad=dict(max_norm=5.0))
param_scheduler = [dict(type='CosineAnnealingLR', begin=0, end=max_epochs, by_epoch=True, eta_min=1e-5)]
default_hooks = dict(checkpoint=dict(interval=10, save_best=None, rule=None), logger=dict(interval=50))
