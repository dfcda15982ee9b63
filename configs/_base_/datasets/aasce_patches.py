# AASCE 2019 vertebra patches for the refiner (spinekey.datasets.VertebraPatchDataset): every annotated vertebra of
# the fold's training films, at native resolution, framed around simulated stage-1 corners (a shift of 8% and
# per-corner noise of 4% of its size: what the stage-1 recipe gets wrong, MRE 12-14 px on ~100 px vertebrae).
# One item is one film (its up to 17 vertebrae); `fold` picks the split like configs/_base_/datasets/aasce.py.
fold = 0
data_root = 'data/aasce/'
patch = dict(patch_size=128, context=1.8, oriented=True)
train_dataloader = dict(
    batch_size=2, num_workers=1, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type='VertebraPatchDataset', data_root=data_root, ann_file=f'fold{fold}_train.json',
                 img_prefix='images/', shift_noise=0.08, corner_noise=0.04, photometric=True, **patch))
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = None
test_cfg = None
test_evaluator = None
