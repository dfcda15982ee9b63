# AASCE 2019 whole films for the column-ends locator (spinekey.datasets.ColumnEndsDataset): each training film
# shrunk into one square canvas (its long side 95% of it), jittered by +-10% scale, +-5 deg, +-5% shift and
# exposure, with the centres of its annotated T1 and L5 as the targets. One item is one film; `fold` picks the
# split like configs/_base_/datasets/aasce.py.
fold = 0
data_root = 'data/aasce/'
levels = ('T1', 'L5')
train_dataloader = dict(
    batch_size=4, num_workers=1, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type='ColumnEndsDataset', data_root=data_root, ann_file=f'fold{fold}_train.json',
                 img_prefix='images/', size=384, levels=levels, scale_jitter=0.1, rotate_deg=5.0, shift=0.05))
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = None
test_cfg = None
test_evaluator = None
