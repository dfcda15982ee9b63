# What `make aasce` trains (since 2026-11-24). Lever 5 of the AASCE ablation (docs/aasce.md): the 7-epoch
# recipe (spinekey_aasce_lite0_cpu.py) trained twice as long, 14 epochs instead of 7 (about 1 h 45 min on 2 idle cores, inside the 2 h CPU budget).
# The 7-epoch recipe sees each film 7 times (1,267 steps of 2 films); the keypoint head's loss was still falling
# through its last epochs (mean 4.73 in epoch 4, 4.61 in epoch 7), so a longer schedule is the cheapest try.
# Held-out Cobb SMAPE 10.15% -> 9.19% on fold 0 and 10.06% -> 9.62% on fold 1, MRE and recall no worse.
_base_ = './spinekey_aasce_lite0_cpu.py'

max_epochs = 14
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=200),
    dict(type='CosineAnnealingLR', begin=0, end=max_epochs, by_epoch=True, eta_min=1e-5),
]
