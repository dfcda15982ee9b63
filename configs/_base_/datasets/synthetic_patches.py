# The synthetic demo's vertebra patches for the refiner (spinekey.datasets.VertebraPatchDataset): every vertebra
# of data/synthetic/det_train.json (tools/make_synthetic.py; 384 x 512 films, vertebrae 25-60 px tall), framed
# around simulated stage-1 corners as on AASCE (a 5% shift and 3% per-corner noise of the vertebra's size).
data_root = 'data/synthetic/'
patch = dict(patch_size=64, context=1.5, oriented=True)  # as refine = dict(...) in the demo refiner's config
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type='VertebraPatchDataset', data_root=data_root, ann_file='det_train.json', img_prefix='',
                 shift_noise=0.05, corner_noise=0.03, photometric=True, **patch))
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = None
test_cfg = None
test_evaluator = None
