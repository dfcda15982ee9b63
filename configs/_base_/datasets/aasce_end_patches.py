# AASCE 2019 end patches for the end-level classifier (spinekey.datasets.EndLevelPatchDataset): per training film,
# T1, T2, T3, L3, L4, L5 and the vertebrae one level beyond each end (extrapolated; off the film: left out), each
# framed around simulated stage-1 corners (a shift of 8%, a size change of 10%, corner noise of 3% of its size).
# One item is one film (its up to 8 patches); `fold` picks the split like configs/_base_/datasets/aasce.py.
fold = 0
data_root = 'data/aasce/'
train_dataloader = dict(
    batch_size=4, num_workers=1, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type='EndLevelPatchDataset', data_root=data_root, ann_file=f'fold{fold}_train.json',
                 img_prefix='images/', patch_size=128, context=4.0, shift_noise=0.08, corner_noise=0.03,
                 scale_noise=0.1, flip=True, photometric=True))
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = None
test_cfg = None
test_evaluator = None
