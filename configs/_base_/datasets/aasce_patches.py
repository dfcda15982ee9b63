# AASCE 2019 vertebra patches for the refiner (spinekey.datasets.VertebraPatchDataset): every annotated vertebra of
# the fold's training films, at native resolution, framed around simulated stage-1 corners: a shift of 5% and
# per-corner noise of 3% of its size (per coordinate), about 10 px on a 170 px wide vertebra, what the stage-1
# recipe gets wrong (MRE 12-14 px, errors correlated within a vertebra).
# One item is one film (its up to 17 vertebrae); `fold` picks the split like configs/_base_/datasets/aasce.py.
fold = 0
data_root = 'data/aasce/'
patch = dict(patch_size=192, context=1.5, oriented=True)  # as refine = dict(...) in the model's _base_
train_dataloader = dict(
    batch_size=2, num_workers=1, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type='VertebraPatchDataset', data_root=data_root, ann_file=f'fold{fold}_train.json',
                 img_prefix='images/', shift_noise=0.05, corner_noise=0.03, photometric=True, **patch))
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = None
test_cfg = None
test_evaluator = None
